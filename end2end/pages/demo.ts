// The demo accounts that the server seeds on its first start (see domain/src/demo.rs).
export const DEMO_PASSWORD = "tierdesk-demo";
export const DEMO_ADMIN = "admin@demo.tierdesk.test";
export const DEMO_VIEWER = "viewer@demo.tierdesk.test";
export const DEMO_SUPPORT = "support@demo.tierdesk.test";
