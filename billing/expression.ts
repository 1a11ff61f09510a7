// Lago's billable metric custom expressions (POST /billable_metrics/evaluate_expression), pure. The language of
// Lago's SQL-like expressions: atoms (integers, decimals, 'quoted strings'), the event attributes `event.code`,
// `event.timestamp` (Unix seconds) and `event.properties.<name>`, operators + − * / and parentheses, and the
// functions CONCAT(a, b, …), ROUND(x[, precision]), CEIL(x[, precision]), FLOOR(x[, precision]) (names in any
// case). Numbers are exact decimals (no float anywhere); a property used in arithmetic must be a number or a
// numeric string. ROUND is half-up (billing/README.md, row E1); CEIL / FLOOR round toward ±∞; `precision` may be
// negative (tens, hundreds). A division by zero, an unknown property or a non-numeric operand fails evaluation
// (expression_evaluation_failed); a malformed expression is invalid_expression. Results: a decimal string for a
// number, the string itself for text.
import { BillingError } from './errors';
import type { Decimal } from 'decimal.js';
import { D, dec, isDecimalString, str, type Dec } from './money';

export interface ExpressionEvent {
  code: string;
  /** Unix seconds. */
  timestamp: number;
  properties: Record<string, string | number>;
}

type Value = { kind: 'num'; v: Dec } | { kind: 'str'; v: string };

type Node =
  | { t: 'num'; v: Dec }
  | { t: 'str'; v: string }
  | { t: 'var'; path: string[] }
  | { t: 'neg'; e: Node }
  | { t: 'bin'; op: '+' | '-' | '*' | '/'; l: Node; r: Node }
  | { t: 'call'; name: string; args: Node[] };

type Token = { k: 'num' | 'str' | 'id' | 'op'; v: string };

const MAX_EXPRESSION_LENGTH = 2_000;

function invalid(msg: string): never {
  throw new BillingError('invalid_expression', msg, 'expression');
}
function failed(msg: string): never {
  throw new BillingError('expression_evaluation_failed', msg, 'expression');
}

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) { i++; continue; }
    if (/[0-9]/.test(c)) {
      const m = /^[0-9]+(?:\.[0-9]+)?/.exec(src.slice(i))!;
      out.push({ k: 'num', v: m[0] });
      i += m[0].length;
      continue;
    }
    if (c === "'") {
      const end = src.indexOf("'", i + 1);
      if (end < 0) invalid('unterminated string');
      out.push({ k: 'str', v: src.slice(i + 1, end) });
      i = end + 1;
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*/.exec(src.slice(i))!;
      out.push({ k: 'id', v: m[0] });
      i += m[0].length;
      continue;
    }
    if ('+-*/(),'.includes(c)) { out.push({ k: 'op', v: c }); i++; continue; }
    invalid(`unexpected character ${JSON.stringify(c)}`);
  }
  return out;
}

const FUNCTIONS: Record<string, [number, number]> = { concat: [1, 100], round: [1, 2], ceil: [1, 2], floor: [1, 2] };

function parse(tokens: Token[]): Node {
  let p = 0;
  const peek = () => tokens[p];
  const isOp = (v: string) => peek()?.k === 'op' && peek()!.v === v;
  const expect = (v: string) => { if (!isOp(v)) invalid(`expected ${v}`); p++; };
  const expr = (): Node => {
    let l = term();
    while (isOp('+') || isOp('-')) { const op = tokens[p++]!.v as '+' | '-'; l = { t: 'bin', op, l, r: term() }; }
    return l;
  };
  const term = (): Node => {
    let l = unary();
    while (isOp('*') || isOp('/')) { const op = tokens[p++]!.v as '*' | '/'; l = { t: 'bin', op, l, r: unary() }; }
    return l;
  };
  const unary = (): Node => {
    if (isOp('-')) { p++; return { t: 'neg', e: unary() }; }
    return primary();
  };
  const primary = (): Node => {
    const tok = peek();
    if (!tok) invalid('unexpected end of expression');
    p++;
    if (tok.k === 'num') return { t: 'num', v: new D(tok.v) };
    if (tok.k === 'str') return { t: 'str', v: tok.v };
    if (tok.k === 'op' && tok.v === '(') { const e = expr(); expect(')'); return e; }
    if (tok.k === 'id') {
      if (isOp('(')) {
        const name = tok.v.toLowerCase();
        const arity = FUNCTIONS[name];
        if (!arity) invalid(`unknown function ${tok.v}`);
        p++;
        const args: Node[] = [];
        if (!isOp(')')) { args.push(expr()); while (isOp(',')) { p++; args.push(expr()); } }
        expect(')');
        if (args.length < arity[0] || args.length > arity[1]) invalid(`${tok.v} takes ${arity[0]}–${arity[1]} arguments`);
        return { t: 'call', name, args };
      }
      const path = tok.v.split('.');
      const ok = path[0] === 'event' && ((path.length === 2 && (path[1] === 'code' || path[1] === 'timestamp')) || (path.length === 3 && path[1] === 'properties'));
      if (!ok) invalid(`unknown variable ${tok.v}`);
      return { t: 'var', path };
    }
    invalid(`unexpected ${tok.v}`);
  };
  const root = expr();
  if (p !== tokens.length) invalid(`unexpected ${tokens[p]!.v}`);
  return root;
}

/** Parses an expression (invalid_expression when it is not one): the check a metric's `expression` passes. */
export function parseExpression(src: string): Node {
  if (typeof src !== 'string' || src.trim() === '') invalid('expression is empty');
  if (src.length > MAX_EXPRESSION_LENGTH) invalid('expression is too long');
  return parse(tokenize(src));
}

function asNum(v: Value, what: string): Dec {
  if (v.kind === 'num') return v.v;
  if (isDecimalString(v.v.trim())) return dec(v.v.trim());
  return failed(`${what} is not a number: ${JSON.stringify(v.v)}`);
}

function asStr(v: Value): string {
  return v.kind === 'str' ? v.v : str(v.v);
}

function precisionOf(v: Value | undefined): number {
  if (v === undefined) return 0;
  const n = asNum(v, 'precision');
  if (!n.isInteger() || n.abs().gt(30)) failed('precision must be an integer between -30 and 30');
  return n.toNumber();
}

function roundAt(x: Dec, precision: number, mode: Decimal.Rounding): Dec {
  const scale = new D(10).pow(precision);
  return x.times(scale).toDecimalPlaces(0, mode).div(scale);
}

function evaluate(n: Node, ev: ExpressionEvent): Value {
  switch (n.t) {
    case 'num': return { kind: 'num', v: n.v };
    case 'str': return { kind: 'str', v: n.v };
    case 'var': {
      if (n.path[1] === 'code') return { kind: 'str', v: ev.code };
      if (n.path[1] === 'timestamp') return { kind: 'num', v: new D(ev.timestamp) };
      const value = ev.properties[n.path[2]!];
      if (value === undefined) return failed(`event.properties.${n.path[2]} is missing`);
      return typeof value === 'number' ? { kind: 'num', v: dec(String(value)) } : { kind: 'str', v: value };
    }
    case 'neg': return { kind: 'num', v: asNum(evaluate(n.e, ev), 'operand').neg() };
    case 'bin': {
      const l = asNum(evaluate(n.l, ev), 'left operand');
      const r = asNum(evaluate(n.r, ev), 'right operand');
      if (n.op === '+') return { kind: 'num', v: l.plus(r) };
      if (n.op === '-') return { kind: 'num', v: l.minus(r) };
      if (n.op === '*') return { kind: 'num', v: l.times(r) };
      if (r.isZero()) return failed('division by zero');
      return { kind: 'num', v: l.div(r) };
    }
    case 'call': {
      const args = n.args.map((a) => evaluate(a, ev));
      if (n.name === 'concat') return { kind: 'str', v: args.map(asStr).join('') };
      const x = asNum(args[0]!, `${n.name.toUpperCase()} argument`);
      const precision = precisionOf(args[1]);
      const mode = n.name === 'round' ? D.ROUND_HALF_UP : n.name === 'ceil' ? D.ROUND_CEIL : D.ROUND_FLOOR;
      return { kind: 'num', v: roundAt(x, precision, mode) };
    }
  }
}

/** Evaluates `expression` against one event: a decimal string (numbers) or a string (text). */
export function evaluateExpression(expression: string, event: ExpressionEvent): string {
  const v = evaluate(parseExpression(expression), event);
  return v.kind === 'num' ? str(v.v) : v.v;
}
