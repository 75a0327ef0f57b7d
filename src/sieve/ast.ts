/** The syntax tree of a script (RFC 5228 §8.2), every node with its position in the source. */
import type { Position } from "./errors.js";

export interface StringNode {
  kind: "string";
  value: string;
  pos: Position;
}

export type Argument =
  | StringNode
  /** A bracketed string list; a lone string stays a StringNode and also serves as a one-string list. */
  | { kind: "list"; items: StringNode[]; pos: Position }
  | { kind: "number"; value: number; pos: Position }
  | { kind: "tag"; name: string; pos: Position };

export interface TestNode {
  name: string;
  args: Argument[];
  tests: TestNode[];
  /** True when the tests were written as a parenthesised test-list. */
  testList: boolean;
  pos: Position;
}

export interface CommandNode extends TestNode {
  /** The commands of the block, or null when the command ended with ";". */
  block: CommandNode[] | null;
}

export interface ScriptNode {
  commands: CommandNode[];
}
