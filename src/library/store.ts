// `mailroom-server/store`: the store's focused interfaces (directory, mailboxes, messages, blobs,
// queue, …) that both backends implement, openStore for either (SQLite and files in a data directory,
// or a postgres:// URL), and the password hash the directory keeps.

export { hashPassword } from "../auth/password.js";
export { openStore } from "../store/open.js";
export * from "../store/types.js";
