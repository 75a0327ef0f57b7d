/**
 * Turns a syntax tree into a runnable script, reporting every error a ManageSieve CHECKSCRIPT or
 * `mailroom sieve check` shows: unknown or unrequired commands, tests, tags and capabilities, argument
 * shapes (RFC 5228 §2.6), misplaced require/elsif/else, and each command's own checks.
 */
import type { Argument, CommandNode, ScriptNode, StringNode, TestNode } from "./ast.js";
import type { CheckContext, CompiledCommand, CompiledTest } from "./definition.js";
import { decodeEncodedCharacters } from "./encoded-character.js";
import { type Position, SieveError } from "./errors.js";
import { CAPABILITIES, COMMANDS, TESTS_BY_NAME } from "./registry.js";
import { type BoundArgs, bind, type Signature } from "./signature.js";

export interface CompiledScript {
  commands: CompiledCommand[];
  capabilities: ReadonlySet<string>;
}

/** RFC 5235 §3.2 and RFC 6131 §2: these capabilities imply another. */
const IMPLIES: Record<string, string> = { spamtestplus: "spamtest", "vacation-seconds": "vacation" };

class Validator implements CheckContext {
  readonly errors: SieveError[] = [];
  readonly capabilities = new Set<string>();

  error = (reason: string, pos: Position): void => {
    this.errors.push(new SieveError("validation", reason, pos));
  };

  has = (capability: string): boolean => this.capabilities.has(capability);

  requires(commands: readonly CommandNode[]): void {
    let others = false;
    for (const command of commands) {
      if (command.name !== "require") {
        others = true;
        continue;
      }
      if (others) this.error("require must come before every other command (RFC 5228 §3.2)", command.pos);
      const list = command.args[0];
      const names = list?.kind === "string" ? [list] : list?.kind === "list" ? list.items : [];
      for (const name of names) {
        const capability = name.value.toLowerCase();
        if (!CAPABILITIES.includes(capability)) {
          this.error(`require: unknown capability "${name.value}"`, name.pos);
          continue;
        }
        this.capabilities.add(capability);
        const implied = IMPLIES[capability];
        if (implied !== undefined) this.capabilities.add(implied);
      }
    }
  }

  /** Applies encoded-character to every string, when required; only then the strings are final. */
  decodeStrings(args: readonly Argument[]): void {
    if (!this.has("encoded-character")) return;
    const decode = (node: StringNode) => {
      node.value = decodeEncodedCharacters(node.value, (reason) => this.error(reason, node.pos));
    };
    for (const arg of args) {
      if (arg.kind === "string") decode(arg);
      else if (arg.kind === "list") arg.items.forEach(decode);
    }
  }

  private bindArgs(
    kind: string,
    name: string,
    signature: Signature,
    node: TestNode,
    extension?: string,
  ): BoundArgs {
    if (extension !== undefined && !this.has(extension))
      this.error(`${kind} "${name}" needs require "${extension}"`, node.pos);
    this.decodeStrings(node.args);
    for (const arg of node.args) {
      const requires = arg.kind === "tag" ? signature.tags?.[arg.name]?.requires : undefined;
      if (requires !== undefined && !this.has(requires))
        this.error(`${name}: ":${(arg as { name: string }).name}" needs require "${requires}"`, arg.pos);
    }
    const args = bind(name, signature, node.args, node.pos, this.error);
    const tests = signature.tests ?? "none";
    if (tests === "none" && node.tests.length > 0) this.error(`${name} takes no test`, node.tests[0]!.pos);
    if (tests === "one" && (node.tests.length !== 1 || node.testList))
      this.error(`${name} needs exactly one test`, node.pos);
    if (tests === "list" && !node.testList) this.error(`${name} needs a test list in parentheses`, node.pos);
    return args;
  }

  commands(nodes: readonly CommandNode[]): CompiledCommand[] {
    return nodes.map((node, i) => {
      const previous = nodes[i - 1]?.name;
      if ((node.name === "elsif" || node.name === "else") && previous !== "if" && previous !== "elsif")
        this.error(`${node.name} must follow if or elsif`, node.pos);
      return this.command(node);
    });
  }

  private command(node: CommandNode): CompiledCommand {
    const def = COMMANDS.get(node.name);
    if (def === undefined) {
      const hint = TESTS_BY_NAME.has(node.name) ? " (it is a test)" : "";
      this.error(`unknown command "${node.name}"${hint}`, node.pos);
    }
    const signature = def?.signature ?? {};
    const args =
      def === undefined
        ? { tags: new Map(), positional: [] }
        : this.bindArgs("command", node.name, signature, node, def.extension);
    if (def !== undefined && def.check !== undefined) def.check(args, this, node.pos);
    if (signature.block && node.block === null) this.error(`${node.name} needs a block`, node.pos);
    if (def !== undefined && !signature.block && node.block !== null)
      this.error(`${node.name} takes no block`, node.pos);
    return {
      name: node.name,
      def: def ?? COMMANDS.get("stop")!,
      args,
      tests: node.tests.map((t) => this.test(t)),
      block: node.block === null ? null : this.commands(node.block),
      pos: node.pos,
    };
  }

  private test(node: TestNode): CompiledTest {
    const def = TESTS_BY_NAME.get(node.name);
    if (def === undefined) {
      const hint = COMMANDS.has(node.name) ? " (it is a command)" : "";
      this.error(`unknown test "${node.name}"${hint}`, node.pos);
    }
    const args =
      def === undefined
        ? { tags: new Map(), positional: [] }
        : this.bindArgs("test", node.name, def.signature, node, def.extension);
    if (def !== undefined && def.check !== undefined) def.check(args, this, node.pos);
    return {
      name: node.name,
      def: def ?? TESTS_BY_NAME.get("false")!,
      args,
      tests: node.tests.map((t) => this.test(t)),
      pos: node.pos,
    };
  }
}

/** Validates `ast`; the script is runnable only when `errors` is empty. */
export function validate(ast: ScriptNode): { script: CompiledScript; errors: SieveError[] } {
  const validator = new Validator();
  validator.requires(ast.commands);
  const commands = validator.commands(ast.commands);
  return { script: { commands, capabilities: validator.capabilities }, errors: validator.errors };
}
