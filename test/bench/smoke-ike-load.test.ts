/** The benches of smoke-table.ts whose row says file "ike-load", each in smoke mode. */
import { describeSmoke } from "./smoke-table.js";

describeSmoke("ike-load");
