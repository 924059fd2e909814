/** Where the DC keeps its state: `<home>/dc/`. */
import * as path from "node:path";

export const dcDir = (home: string) => path.join(home, "dc");
export const dbPath = (home: string) => path.join(home, "dc", "directory.db");
export const adminSocketPath = (home: string) => path.join(home, "dc", "admin.sock");
export const pidPath = (home: string) => path.join(home, "dc", "dc.pid");

/** The admin/policy API's default TCP port: the port of AD Web Services on a Windows DC. */
export const DEFAULT_API_PORT = 9389;
export const DEFAULT_KDC_PORT = 88;
export const DEFAULT_DNS_PORT = 53;
