/** The benches of smoke-table.ts whose row says file "lab2", each in smoke mode. */
import { describeSmoke } from "./smoke-table.js";

describeSmoke("lab2");
