/** The benches of smoke-table.ts whose row says file "lab-ad", each in smoke mode. */
import { describeSmoke } from "./smoke-table.js";

describeSmoke("lab-ad");
