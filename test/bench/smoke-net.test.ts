/** The benches of smoke-table.ts whose row says file "net", each in smoke mode. */
import { describeSmoke } from "./smoke-table.js";

describeSmoke("net");
