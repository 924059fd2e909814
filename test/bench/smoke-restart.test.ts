/** The benches of smoke-table.ts whose row says file "restart", each in smoke mode. */
import { describeSmoke } from "./smoke-table.js";

describeSmoke("restart");
