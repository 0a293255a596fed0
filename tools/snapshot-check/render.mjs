// Renders a heap snapshot as DevTools' Memory panel computes it (its own heap_snapshot_worker
// code, from heap-snapshot-toolkit): the Summary view's top rows and the shortest retainer
// path of the object with the largest retained size among the chosen constructor's
// objects, as one SVG picture for docs/observability.md.
//   SNAPSHOT_CHECK_NPM=build/npm node tools/snapshot-check/render.mjs SNAPSHOT OUT.svg [CONSTRUCTOR]
import { createReadStream, writeFileSync } from 'node:fs'
import { join, basename } from 'node:path'
import { pathToFileURL } from 'node:url'

const prefix = process.env.SNAPSHOT_CHECK_NPM
const [path, out, focus] = process.argv.slice(2)
if (!prefix || !path || !out) {
  console.error('usage: SNAPSHOT_CHECK_NPM=PREFIX node render.mjs SNAPSHOT OUT.svg [CONSTRUCTOR]')
  process.exit(2)
}
const { parse } = await import(
  pathToFileURL(join(prefix, 'node_modules', 'heap-snapshot-toolkit', 'index.js')).href)
const snap = await parse(createReadStream(path, 'utf-8'))
const rows = Object.values(snap.aggregatesWithFilter({})).sort((a, b) => b.maxRet - a.maxRet)
const top = rows.slice(0, 12)
const esc = s => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
const kb = b => b >= 1048576 ? `${(b / 1048576).toFixed(1)} MiB` : `${(b / 1024).toFixed(1)} KiB`

// The retainer path: from the chosen constructor's object with the largest retained size.
const nodes = []
for (let i = 0; i < snap.nodeCount; i++) nodes.push(snap.createNode(i * snap.nodeFieldCount))
const target_name = focus || top.find(r => !r.name.startsWith('('))?.name
const candidates = nodes.filter(n => n.name() === target_name && n.type() !== 'string')
candidates.sort((a, b) => b.retainedSize() - a.retainedSize())
const steps = []
let node = candidates[0]
while (node && node.distance() > 0) {
  let next = null
  for (const it = node.retainers(); it.hasNext(); it.next()) {
    const r = it.retainer
    if (r.type() !== 'weak' && r.node().distance() === node.distance() - 1) {
      next = r
      break
    }
  }
  if (next === null) break
  steps.push({ node, edge: next.type() === 'element' ? `[${next.name()}]` : next.name() })
  node = next.node()
}
if (node) steps.push({ node, edge: null })

const W = 1000
const rowH = 22
const tableTop = 70
const pathTop = tableTop + (top.length + 2) * rowH + 30
const H = pathTop + 40 + 16 * rowH
const svg = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
  `<rect width="${W}" height="${H}" fill="white"/>`,
  `<text x="20" y="26" font-size="16" font-weight="bold">${esc(basename(path))}: ${snap.nodeCount.toLocaleString('en')} nodes, as DevTools' Memory panel sees it</text>`,
  `<text x="20" y="${tableTop - 14}" font-weight="bold">Summary (by constructor, largest retained size first)</text>`]
const cols = [20, 330, 420, 540, 660]
const heads = ['Constructor', 'Count', 'Shallow size', 'Retained size', '']
heads.forEach((h, i) => svg.push(`<text x="${cols[i]}" y="${tableTop + 4}" fill="#555">${h}</text>`))
const maxRet = Math.max(...top.map(r => r.maxRet), 1)
top.forEach((r, i) => {
  const y = tableTop + (i + 1) * rowH
  if (i % 2 === 0) svg.push(`<rect x="14" y="${y - 15}" width="${W - 28}" height="${rowH}" fill="#f3f6fa"/>`)
  svg.push(`<text x="${cols[0]}" y="${y}">${esc(r.name.length > 40 ? r.name.slice(0, 39) + '…' : r.name)}</text>`,
    `<text x="${cols[1]}" y="${y}">×${r.count.toLocaleString('en')}</text>`,
    `<text x="${cols[2]}" y="${y}">${kb(r.self)}</text>`,
    `<text x="${cols[3]}" y="${y}">${kb(r.maxRet)}</text>`,
    `<rect x="${cols[4]}" y="${y - 11}" width="${(W - cols[4] - 30) * r.maxRet / maxRet}" height="12" fill="#2e86de"/>`)
})
svg.push(`<text x="20" y="${pathTop}" font-weight="bold">Retainers of the largest ${esc(target_name)} (${kb(candidates[0]?.retainedSize() || 0)} retained), as DevTools lists them: "edge in retainer", nearest first</text>`)
// DevTools' rows: the object, then "edge in Retainer" up to the root; repeated rows (a long
// linked list) are folded into one with a count.
const rowsOut = []
steps.forEach((st, i) => {
  if (i === 0) return rowsOut.push({ text: st.node.name(), n: 1 })
  const name = st.node.name() === '' ? '(root)' : st.node.name()
  const text = `${steps[i - 1].edge} in ${name}`
  const last = rowsOut[rowsOut.length - 1]
  if (last.text === text) last.n++
  else rowsOut.push({ text, n: 1 })
})
rowsOut.forEach((r, i) => {
  const y = pathTop + 24 + i * rowH
  svg.push(`<text x="${30 + i * 14}" y="${y}">${esc(r.text)}</text>`)
  if (r.n > 1) svg.push(`<text x="${30 + i * 14 + 8 * r.text.length + 10}" y="${y}" fill="#c0392b">×${r.n} (a linked list)</text>`)
})
svg.push('</svg>')
writeFileSync(out, svg.join('\n') + '\n')
console.log(`render.mjs: wrote ${out} (${top.length} summary rows, ${steps.length} retainer steps)`)
