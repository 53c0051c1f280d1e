/**
 * Removes conditionals `(?(g)yes|no)` from an AST, since JS RegExp has none.
 *
 * Idea: whether group g participates is decided by the choice points on the
 * path from g up to the sequence that holds both g and the conditional (an
 * optional quantifier, or the alternation branch holding g). The sequence
 * `p I q` (I holds g, q holds the conditional) is rewritten as
 * `p (?: I1 q[yes] | I2 q[no] | ... )` where I1, I2 ... are the ways through I
 * in Python's backtracking order, each with g forced in or out. This is an
 * exact identity under backtracking, so match position, span and captures stay
 * Python's. Groups in q are duplicated; the emitter maps the copies back.
 *
 * Backreferences get the same treatment (`\g` ≡ `(?(g)\g|(?!))`): in Python a
 * reference to a group that did not participate fails, in JS it matches "".
 * When the rewrite is not exact (loops, choices inside lookarounds) a
 * conditional is an error; a backreference falls back to a plain `\g`.
 */
import type { Node } from './ast.ts';

export class ConditionalError extends Error {
  constructor(message: string, readonly position: number) {
    super(message);
  }
}

type Path = Node[];

function children(node: Node): Node[] {
  switch (node.type) {
    case 'seq':
      return node.items;
    case 'alt':
      return node.branches;
    case 'group':
    case 'atomic':
    case 'look':
    case 'repeat':
      return [node.body];
    case 'cond':
      return [node.yes, node.no];
    default:
      return [];
  }
}

function withChild(node: Node, oldChild: Node, newChild: Node): Node {
  switch (node.type) {
    case 'seq':
      return { ...node, items: node.items.map((c) => (c === oldChild ? newChild : c)) };
    case 'alt':
      return { ...node, branches: node.branches.map((c) => (c === oldChild ? newChild : c)) };
    case 'group':
    case 'atomic':
    case 'look':
    case 'repeat':
      return { ...node, body: newChild };
    case 'cond':
      return node.yes === oldChild ? { ...node, yes: newChild } : { ...node, no: newChild };
    default:
      throw new Error(`node ${node.type} has no children`);
  }
}

/** Rebuild `path[0]` with `path[path.length - 1]` replaced. */
function replaceAt(path: Path, replacement: Node): Node {
  let node = replacement;
  for (let k = path.length - 2; k >= 0; k--) node = withChild(path[k]!, path[k + 1]!, node);
  return node;
}

function findPaths(root: Node, pred: (n: Node) => boolean, firstOnly: boolean): Path[] {
  const out: Path[] = [];
  const stack: Node[] = [];
  const walk = (n: Node): boolean => {
    stack.push(n);
    if (pred(n)) {
      out.push(stack.slice());
      if (firstOnly) return true;
    }
    for (const c of children(n)) if (walk(c)) return true;
    stack.pop();
    return false;
  };
  walk(root);
  return out;
}

function mapTree(node: Node, fn: (n: Node) => Node | null): Node {
  const replaced = fn(node);
  if (replaced) return replaced;
  switch (node.type) {
    case 'seq':
      return { ...node, items: node.items.map((c) => mapTree(c, fn)) };
    case 'alt':
      return { ...node, branches: node.branches.map((c) => mapTree(c, fn)) };
    case 'group':
    case 'atomic':
    case 'look':
    case 'repeat':
      return { ...node, body: mapTree(node.body, fn) };
    case 'cond':
      return { ...node, yes: mapTree(node.yes, fn), no: mapTree(node.no, fn) };
    default:
      return node;
  }
}

interface Variant {
  node: Node;
  participates: boolean;
}

const isLoop = (n: Node): boolean => n.type === 'repeat' && n.max > 1;

/** The ways through path[k] (down to the group at the end of the path), in backtracking order. */
function variants(path: Path, k: number): Variant[] {
  const node = path[k]!;
  if (k === path.length - 1) return [{ node, participates: true }];
  const child = path[k + 1]!;
  const inner = variants(path, k + 1);
  const wrap = (v: Variant): Variant => ({ node: withChild(node, child, v.node), participates: v.participates });
  switch (node.type) {
    case 'seq':
    case 'group':
      return inner.map(wrap);
    case 'alt': {
      const out: Variant[] = [];
      for (const b of node.branches) {
        if (b === child) out.push(...inner);
        else out.push({ node: b, participates: false });
      }
      return out;
    }
    case 'repeat': {
      if (node.max === 0) return [{ node: { type: 'empty' }, participates: false }];
      const skip: Variant = { node: { type: 'empty' }, participates: false };
      if (node.max > 1) {
        // A loop whose every iteration sets g: g participates iff the loop ran at least once.
        if (inner.length !== 1 || node.possessive) {
          throw new ConditionalError('the group is optional inside a repeated subpattern', -1);
        }
        const once: Variant = { node: { ...node, min: Math.max(1, node.min), body: inner[0]!.node }, participates: true };
        if (node.min >= 1) return [once];
        return node.greedy ? [once, skip] : [skip, once];
      }
      if (node.min === 1) return inner;
      if (node.possessive) throw new ConditionalError('the group is under a possessive quantifier', -1);
      return node.greedy ? [...inner, skip] : [skip, ...inner];
    }
    case 'look':
    case 'atomic':
      if (node.type === 'look' && node.negate) {
        throw new ConditionalError('the group is inside a negative lookaround', -1);
      }
      if (inner.length > 1) {
        throw new ConditionalError('the group is optional inside a lookaround or atomic group', -1);
      }
      return inner.map(wrap);
    case 'cond':
      throw new ConditionalError('the group is inside another conditional', -1);
    default:
      throw new Error(`unexpected node ${node.type} on a group path`);
  }
}

function resolveOne(ast: Node, condPath: Path): Node {
  const cond = condPath[condPath.length - 1] as Extract<Node, { type: 'cond' }>;
  const groupPaths = findPaths(ast, (n) => n.type === 'group' && n.index === cond.index, false);
  let candidate: { path: Path; lca: number } | null = null;
  for (const gp of groupPaths) {
    let lca = 0;
    while (lca + 1 < gp.length && lca + 1 < condPath.length && gp[lca + 1] === condPath[lca + 1]) lca++;
    for (let k = 0; k <= lca; k++) {
      if (isLoop(gp[k]!)) throw new ConditionalError('the conditional and its group are inside a repeated subpattern', cond.pos);
    }
    const holder = gp[lca]!;
    // Visible only when g closes before the conditional in the same sequence.
    if (holder.type !== 'seq' || lca + 1 >= gp.length || lca + 1 >= condPath.length) continue;
    if (holder.items.indexOf(gp[lca + 1]!) >= holder.items.indexOf(condPath[lca + 1]!)) continue;
    if (candidate) throw new ConditionalError('the group is reachable on several paths', cond.pos);
    candidate = { path: gp, lca };
  }
  if (!candidate) return replaceAt(condPath, cond.no);

  const { path, lca } = candidate;
  let ways: Variant[];
  try {
    ways = variants(path, lca + 1);
  } catch (err) {
    if (err instanceof ConditionalError) throw new ConditionalError(err.message, cond.pos);
    throw err;
  }
  if (ways.every((w) => w.participates)) return replaceAt(condPath, cond.yes);
  if (ways.every((w) => !w.participates)) return replaceAt(condPath, cond.no);

  const seq = path[lca] as Extract<Node, { type: 'seq' }>;
  const i = seq.items.indexOf(path[lca + 1]!);
  const condInSeq = condPath.slice(lca); // starts at seq
  const restWith = (branch: Node): Node[] => {
    const replaced = replaceAt(condInSeq, branch) as Extract<Node, { type: 'seq' }>;
    return replaced.items.slice(i + 1);
  };
  const yesRest = restWith(cond.yes);
  const noRest = restWith(cond.no);
  const branches = ways.map((w): Node =>
    structuredClone({ type: 'seq', items: [w.node, ...(w.participates ? yesRest : noRest)] }),
  );
  const distributed: Node = { type: 'seq', items: [...seq.items.slice(0, i), { type: 'alt', branches }] };
  return replaceAt(path.slice(0, lca + 1), distributed);
}

const MAX_REWRITES = 10_000;
const MAX_NODES = 20_000; // conditional expansion is exponential in the worst case

function countNodes(n: Node): number {
  let total = 1;
  for (const c of children(n)) total += countNodes(c);
  return total;
}

/** Rewrite every conditional and backreference away (see the module comment). */
export function resolveConditionals(ast: Node): Node {
  let tree = mapTree(ast, (n) =>
    n.type === 'backref'
      ? { type: 'cond', index: n.index, yes: n, no: { type: 'never' }, fromBackref: true, pos: -1 }
      : null,
  );
  for (let round = 0; ; round++) {
    const [condPath] = findPaths(tree, (n) => n.type === 'cond', true);
    if (!condPath) return tree;
    const cond = condPath[condPath.length - 1] as Extract<Node, { type: 'cond' }>;
    if (round >= MAX_REWRITES || countNodes(tree) > MAX_NODES) {
      if (cond.fromBackref) {
        tree = replaceAt(condPath, cond.yes);
        continue;
      }
      throw new ConditionalError('too many conditionals to expand', cond.pos);
    }
    try {
      tree = resolveOne(tree, condPath);
    } catch (err) {
      if (!(err instanceof ConditionalError) || !cond.fromBackref) throw err;
      tree = replaceAt(condPath, cond.yes); // plain backreference: JS semantics differ only for unset groups
    }
  }
}
