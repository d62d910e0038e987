/**
 * A linear pre-scan of YAML text that bounds nesting depth and node count before any YAML parser runs. The
 * `yaml` library's lexer and composer cost seconds and hundreds of MB on inputs well inside the size limit
 * (200,000 nested `[` in 400 KB: 8 s and 500 MB in the CST alone), so the guard must not use them. The scan
 * over-approximates (a `[` inside a plain scalar counts), which can only refuse earlier, never let more through.
 */
export interface YamlShape {
  /** Deepest nesting seen (at least the real one): indentation levels + sequence dashes + open flow brackets. */
  depth: number;
  /** Approximate number of nodes: mapping keys, sequence entries, flow items and aliases. */
  nodes: number;
  /** Line (1-based) where the depth limit was first passed, if it was. */
  deepLine?: number;
}

export interface YamlShapeLimits {
  maxDepth: number;
  maxNodes: number;
}

const BLOCK_SCALAR = /(?:^|[\s:-])[|>][-+0-9]*\s*(?:#.*)?$/;

/** Scans `text`; stops early once a limit is passed (the returned shape then exceeds it). */
export function scanYamlShape(text: string, limits: YamlShapeLimits): YamlShape {
  const shape: YamlShape = { depth: 0, nodes: 0 };
  const indents: number[] = [];
  let flow = 0;
  let blockScalarIndent = -1; // lines indented more than this belong to a block scalar
  let lineNo = 0;
  for (const line of text.split('\n')) {
    lineNo++;
    const indent = line.length - line.trimStart().length;
    const content = line.trim();
    if (blockScalarIndent >= 0) {
      if (content === '' || indent > blockScalarIndent) continue;
      blockScalarIndent = -1;
    }
    if (content === '' || content.startsWith('#')) continue;
    // Indentation counts even inside a flow collection: over-counting only refuses earlier, and a bracket
    // misread as a flow start must not hide the block nesting around it.
    while (indents.length > 0 && indents[indents.length - 1]! >= indent) indents.pop();
    indents.push(indent);
    // Each dash of `- - x` opens a sequence whose entries sit at the column after it: deeper lines nest there.
    let col = indent;
    while (line[col] === '-' && (line[col + 1] === ' ' || col + 1 === line.length)) {
      shape.nodes++;
      col += 2;
      while (line[col] === ' ') col++;
      indents.push(col);
    }
    const level = scanLine(line, col, shape, flow);
    const depth = indents.length + flow + level.maxFlow;
    flow = level.flow;
    if (depth > shape.depth) shape.depth = depth;
    if (shape.depth > limits.maxDepth) {
      shape.deepLine = lineNo;
      return shape;
    }
    if (shape.nodes > limits.maxNodes) return shape;
    if (flow === 0 && BLOCK_SCALAR.test(content)) blockScalarIndent = indent;
  }
  return shape;
}

/** Counts one line's nodes and flow brackets outside quotes and comments, from column `start`. */
function scanLine(
  line: string,
  start: number,
  shape: YamlShape,
  startFlow: number,
): { flow: number; maxFlow: number } {
  let flow = startFlow;
  let maxFlow = 0;
  let i = start;
  let prev = ' ';
  for (; i < line.length; i++) {
    const c = line[i]!;
    if ((c === '"' || c === "'") && /[\s[{,:]/.test(prev)) {
      i = skipQuoted(line, i, c);
      prev = c;
      continue;
    }
    if (c === '#' && /\s/.test(prev)) break;
    if ((c === '[' || c === '{') && /[\s[{,:]/.test(prev)) {
      flow++;
      shape.nodes++;
      if (flow - startFlow > maxFlow) maxFlow = flow - startFlow;
    } else if ((c === ']' || c === '}') && flow > 0) flow--;
    else if (c === ',' && flow > 0) shape.nodes++;
    else if (c === ':' && (i + 1 === line.length || /\s/.test(line[i + 1]!))) shape.nodes++;
    else if (c === '*' && /\s|[[{,]/.test(prev)) shape.nodes++;
    prev = c;
  }
  return { flow, maxFlow };
}

/** Index of the closing quote (or the line's end: multi-line quoted scalars are rare in catalogs). */
function skipQuoted(line: string, start: number, quote: string): number {
  for (let i = start + 1; i < line.length; i++) {
    if (quote === '"' && line[i] === '\\') i++;
    else if (line[i] === quote) {
      if (quote === "'" && line[i + 1] === "'") i++;
      else return i;
    }
  }
  return line.length;
}
