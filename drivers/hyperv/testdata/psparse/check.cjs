// Syntax-checks PowerShell files with the tree-sitter-powershell grammar
// (run through the web-tree-sitter wasm runtime, so no native build).
// Usage: node check.cjs FILE...   exit 0: all parse; 1: syntax errors
// (printed as FILE:LINE:COL: ...); 2: the checker itself failed.
const { Parser, Language } = require('web-tree-sitter');
const fs = require('fs');
const path = require('path');

(async () => {
  await Parser.init();
  const wasm = path.join(__dirname, 'node_modules', 'tree-sitter-powershell', 'tree-sitter-powershell.wasm');
  const lang = await Language.load(wasm);
  const parser = new Parser();
  parser.setLanguage(lang);
  let bad = 0;
  for (const f of process.argv.slice(2)) {
    const tree = parser.parse(fs.readFileSync(f, 'utf8'));
    const errs = [];
    const walk = (n) => {
      if (n.isError || n.isMissing) { errs.push(n); return; }
      if (n.hasError) for (const c of n.children) walk(c);
    };
    walk(tree.rootNode);
    if (errs.length === 0) { console.log(`${f}: ok`); continue; }
    bad++;
    for (const e of errs) {
      const what = e.isMissing ? `missing ${e.type}` : 'syntax error';
      console.log(`${f}:${e.startPosition.row + 1}:${e.startPosition.column + 1}: ${what} near ${JSON.stringify(e.text.slice(0, 40))}`);
    }
  }
  process.exit(bad ? 1 : 0);
})().catch((e) => { console.error(String(e)); process.exit(2); });
