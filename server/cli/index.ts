/**
 * The `berth` CLI is a program, not a library: its entry is main.ts (the package's bin),
 * and no other folder imports it. Commands live in commands/<topic>/ (a light declaration
 * module per topic, one file per command), plumbing in lib/ (docs/development.md, "The CLI").
 */
export {};
