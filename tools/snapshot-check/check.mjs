// Loads marrow heap snapshots with Chrome DevTools' own snapshot loader (the
// heap_snapshot_worker code, as packaged by heap-snapshot-toolkit) and checks them:
//   node check.mjs graph SNAPSHOT WALK_JSON   the C++ fixture graph against its heap walk
//   node check.mjs lox SNAPSHOT               a snapshot of tools/snapshot-check/program.lox
// Prints what it checked and what DevTools' Summary view would show; exits 1 on a failure.
// The package comes from the npm prefix in $SNAPSHOT_CHECK_NPM (tools/tests.d/heap-snapshot.sh
// installs it into build/npm).
import { createReadStream, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'

const prefix = process.env.SNAPSHOT_CHECK_NPM
if (!prefix) {
  console.error('check.mjs: set SNAPSHOT_CHECK_NPM to the npm prefix holding heap-snapshot-toolkit')
  process.exit(2)
}
const { parse } = await import(
  pathToFileURL(join(prefix, 'node_modules', 'heap-snapshot-toolkit', 'index.js')).href)

let failures = 0
function check (ok, what) {
  console.log(`  ${ok ? 'ok  ' : 'FAIL'} ${what}`)
  if (!ok) failures++
}

async function load (path) {
  const snap = await parse(createReadStream(path, 'utf-8'))
  const nodes = []
  for (let i = 0; i < snap.nodeCount; i++) nodes.push(snap.createNode(i * snap.nodeFieldCount))
  return { snap, nodes }
}

// The first retainer of `node` whose node is named `name` (and, if `edge` is a string, whose
// edge has that name; if null, an element edge), or null.
function retainer (node, name, edge) {
  for (const it = node.retainers(); it.hasNext(); it.next()) {
    const r = it.retainer
    if (r.node().name() !== name) continue
    if (edge === null ? r.type() === 'element' : r.name() === edge) return r.node()
  }
  return null
}

// The shortest retaining path DevTools' Retainers view shows first: from `node`, step to a
// retainer one step closer to the root, until the root.
function shortest_path (node) {
  const path = [node]
  while (node.distance() > 0) {
    let next = null
    for (const it = node.retainers(); it.hasNext(); it.next()) {
      const r = it.retainer
      if (r.type() !== 'weak' && r.node().distance() === node.distance() - 1) {
        next = r.node()
        break
      }
    }
    if (next === null) break
    path.push(next)
    node = next
  }
  return path
}

// The nodes `node` points at (DevTools' iterators reuse one edge object: copy as we go).
function children (node) {
  const out = []
  for (const it = node.edges(); it.hasNext(); it.next()) out.push(it.edge.node())
  return out
}

function label (node) {
  return node.name() === '' ? '(root)' : node.name()
}

function common_checks (snap, nodes) {
  check(nodes[0].isRoot() && nodes[0].type() === 'synthetic', 'node 0 is the synthetic root')
  const unreachable = nodes.filter(n => !(n.distance() >= 0 && n.distance() < 100000000))
  check(unreachable.length === 0,
    `every node is reachable from the root (DevTools distances; ${unreachable.length} not)`)
  check(nodes.every(n => n.id() % 2 === 1), 'every node id is odd (JS-heap objects for DevTools)')
  check(new Set(nodes.map(n => n.id())).size === nodes.length, 'node ids are unique')
  const total = nodes.reduce((sum, n) => sum + n.selfSize(), 0)
  check(nodes[0].retainedSize() === total,
    `the root retains the whole heap (${nodes[0].retainedSize()} of ${total} bytes)`)
  check(nodes.every(n => n.retainedSize() >= n.selfSize()), 'retained size >= self size everywhere')
}

function summary (snap) {
  console.log('  DevTools Summary view (constructor, count, shallow size, retained size):')
  const rows = Object.values(snap.aggregatesWithFilter({}))
  rows.sort((a, b) => b.self - a.self)
  for (const a of rows) {
    console.log(`    ${a.name.padEnd(36)} ×${String(a.count).padStart(7)} ` +
      `${String(a.self).padStart(10)} B ${String(a.maxRet).padStart(10)} B`)
  }
}

async function check_graph (snapshot_path, walk_path) {
  console.log(`graph: ${snapshot_path} against ${walk_path}`)
  const walk = JSON.parse(readFileSync(walk_path, 'utf-8'))
  const { snap, nodes } = await load(snapshot_path)
  const synthetic = nodes.filter(n => n.type() === 'synthetic')
  const objects = nodes.filter(n => n.type() !== 'synthetic')
  check(snap.nodeCount === walk.objects.length + synthetic.length,
    `node count ${snap.nodeCount} = ${walk.objects.length} objects in the heap walk + ` +
    `${synthetic.length} synthetic roots`)

  const by_name = (items, name, size) => {
    const m = new Map()
    for (const it of items) {
      const t = m.get(name(it)) || { count: 0, bytes: 0 }
      t.count++
      t.bytes += size(it)
      m.set(name(it), t)
    }
    return m
  }
  const expected = by_name(walk.objects, o => o.name, o => o.size)
  const actual = by_name(objects, n => n.name(), n => n.selfSize())
  let same = expected.size === actual.size
  for (const [name, t] of expected) {
    const a = actual.get(name)
    if (!a || a.count !== t.count || a.bytes !== t.bytes) {
      same = false
      console.log(`    ${name}: walk ${t.count} objects / ${t.bytes} B, snapshot ` +
        (a ? `${a.count} / ${a.bytes} B` : 'none'))
    }
  }
  check(same, `objects and bytes per name match the heap walk (${expected.size} names, ` +
    `${walk.objects.reduce((s, o) => s + o.size, 0)} bytes)`)

  const names = synthetic.map(n => n.name())
  for (const r of ['(GC roots)', '(Handles)', '(Global handles)', '(Weak handles)',
    walk.root_source, '(Pinned)', '(Immortal)', '(Finalizers)']) {
    check(names.includes(r), `synthetic root "${r}" present`)
  }

  // The expected retainer path, followed backwards through DevTools' retainers index.
  const want = walk.retainer_path
  const target = objects.find(n => n.name() === want.nodes[want.nodes.length - 1])
  let node = target
  for (let i = want.nodes.length - 2; node && i >= 0; i--) {
    node = retainer(node, want.nodes[i], want.edges[i])
  }
  check(target && node && node.isRoot(), 'retainer path ' + want.nodes.map((n, i) =>
    (n === '' ? '(root)' : n) + (i < want.edges.length ? ` -${want.edges[i] ?? '[i]'}->` : ''))
    .join(' '))

  common_checks(snap, nodes)
  summary(snap)
}

async function check_lox (snapshot_path) {
  console.log(`lox: ${snapshot_path}`)
  const { snap, nodes } = await load(snapshot_path)
  const named = name => nodes.filter(n => n.name() === name)
  const vm = nodes.find(n => n.type() === 'synthetic' && n.name() === 'Lox VM')
  check(vm !== undefined, 'the "Lox VM" root source has its synthetic root')
  for (const name of ['<class Registry>', '<class Entry>', '<fn makeCounter>', '<fn add>',
    '<native fn>']) {
    check(named(name).length === 1, `one node labelled "${name}"`)
  }
  check(named('<fn count>').length === 1, 'one "<fn count>" function shared by its closures')
  // Instances are named by their Lox class, so the Summary groups them as a Lox user would.
  const instances = name => named(name).filter(n => n.type() === 'object')
  check(instances('Registry').length === 1 && instances('Entry').length === 5,
    'instances named by their class: one Registry, five Entry')
  check(named('LoxInstance').length === 0, 'no instance left under the C++ type name')
  const greeting = named('hello from a heap snapshot')
  check(greeting.length === 1 && greeting[0].type() === 'string',
    'the global string is a string node named by its text')
  check(named('LoxString').length === 0, 'every Lox string is labelled with its text')

  // The counters' closures are retained through the registry's entries (an instance's
  // fields, inline or in a LoxTable once they outgrew it), from the VM's globals.
  const count_fn = named('<fn count>')[0]
  const closures = nodes.filter(n => n.name() === 'LoxClosure' && count_fn !== undefined &&
    children(n).some(c => c.nodeIndex === count_fn.nodeIndex))
  check(closures.length === 5, `five closures of "<fn count>" (found ${closures.length})`)
  const paths = closures.map(shortest_path)
  for (const path of paths.slice(0, 2)) {
    console.log(`    shortest retainer path: ${path.map(label).join(' <- ')}`)
  }
  const through_vm = path => path.length >= 3 && path[path.length - 1].isRoot() &&
    path[path.length - 2].name() === '(GC roots)' && path[path.length - 3].name() === 'Lox VM' &&
    path.some(n => n.name() === 'Entry')
  check(paths.length === 5 && paths.every(through_vm),
    'each is retained from the root through "Lox VM" and an Entry')
  // Edges carry Lox names: the global's name, then field names.
  const registry = instances('Registry')[0]
  check(registry !== undefined && retainer(registry, 'Lox VM', 'registry') !== null,
    'the VM holds the Registry through an edge named by the global "registry"')
  const first = closures.find(c => retainer(c, 'Entry', 'callback') !== null)
  check(first !== undefined, 'an Entry holds a closure through its field "callback"')
  // (Registry's fields outgrew the instance, so "head" lives in its LoxTable.)
  const head = instances('Entry').find(e =>
    retainer(e, 'Registry', 'head') !== null || retainer(e, 'LoxTable', 'head') !== null)
  check(head !== undefined, 'the Registry holds the first Entry through its field "head"')
  common_checks(snap, nodes)
  summary(snap)
}

const [mode, ...args] = process.argv.slice(2)
if (mode === 'graph' && args.length === 2) {
  await check_graph(args[0], args[1])
} else if (mode === 'lox' && args.length === 1) {
  await check_lox(args[0])
} else {
  console.error('usage: node check.mjs graph SNAPSHOT WALK_JSON | lox SNAPSHOT')
  process.exit(2)
}
if (failures > 0) {
  console.log(`${failures} check(s) failed`)
  process.exit(1)
}
