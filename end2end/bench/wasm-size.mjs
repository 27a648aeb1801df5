// Sizes of the console's WASM as built in target/site/pkg: raw, gzip -9 and brotli
// (quality 11, as the precompressed .br files are made), per file and per page.
//
// The release build is split (`cargo leptos build --release --split`): a main module
// (shell, router, layout, shared code), a chunk per group of pages (`split_<group>.wasm`,
// app/src/pages.rs) and chunks of code that several groups share (`chunk_<n>.wasm`).
// The split manifest (`__wasm_split_manifest.<hash>.json`) lists the files each group
// needs; the server preloads exactly those in the head of the group's pages. A cold load
// of a page therefore fetches the main module plus its group's files, and that sum is
// what is checked: with `--max-brotli <bytes>` the script exits 1 when the cold load of
// any group's pages is above the limit (scripts/test runs it after the release build).
// An unsplit build (one .wasm, no manifest) is checked as the main module alone.
//
//   node end2end/bench/wasm-size.mjs [--max-brotli 400000] [--json]
import { readdirSync, readFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";

const pkg = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "target", "site", "pkg");
const names = readdirSync(pkg);
const isChunk = (name) => name.startsWith("split_") || name.startsWith("chunk_");
const wasmFiles = names.filter((name) => name.endsWith(".wasm"));
const mains = wasmFiles.filter((name) => !isChunk(name));
if (mains.length !== 1) {
  console.error(`expected one main .wasm in ${pkg}, found: ${mains.join(", ") || "none"}`);
  process.exit(1);
}
const main = mains[0];

const sizes = new Map();
function sizeOf(name) {
  if (sizes.has(name)) return sizes.get(name);
  const data = readFileSync(join(pkg, name));
  const gzip = gzipSync(data, { level: 9 }).length;
  const brotli = brotliCompressSync(data, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: 11,
      [constants.BROTLI_PARAM_SIZE_HINT]: data.length,
    },
  }).length;
  // What is actually served: the build's precompressed copy when there is one.
  let served = brotli;
  try {
    served = readFileSync(join(pkg, `${name}.br`)).length;
  } catch {
    // no precompressed copy (a build without --precompress)
  }
  const size = { raw: data.length, gzip, brotli, served, wire: Math.max(brotli, served) };
  sizes.set(name, size);
  return size;
}

const fmt = (size) =>
  `raw=${size.raw} gzip=${size.gzip} brotli=${size.brotli} served_br=${size.served}`;

console.log(`main ${main}: ${fmt(sizeOf(main))}`);
const chunks = wasmFiles.filter(isChunk).sort();
const total = { raw: 0, gzip: 0, brotli: 0, served: 0 };
for (const name of [main, ...chunks]) {
  for (const key of Object.keys(total)) total[key] += sizeOf(name)[key];
}
for (const name of chunks) console.log(`  chunk ${name}: ${fmt(sizeOf(name))}`);
if (chunks.length > 0) console.log(`all ${chunks.length + 1} WASM files together: ${fmt(total)}`);
for (const name of names.filter((n) => n.endsWith(".js"))) {
  console.log(`js ${name}: ${fmt(sizeOf(name))}`);
}

// Each page's cold load: the main module and the chunks its route needs.
const manifestName = names.find((n) => n.startsWith("__wasm_split_manifest") && n.endsWith(".json"));
const pages = [];
if (manifestName) {
  const manifest = JSON.parse(readFileSync(join(pkg, manifestName), "utf8"));
  for (const [key, modules] of Object.entries(manifest)) {
    const files = [main, ...new Set(modules.map((m) => `${m}.wasm`))];
    const missing = files.filter((f) => !wasmFiles.includes(f));
    if (missing.length > 0) {
      console.error(`the split manifest names missing files for ${key}: ${missing.join(", ")}`);
      process.exit(1);
    }
    const wire = files.reduce((sum, f) => sum + sizeOf(f).wire, 0);
    const raw = files.reduce((sum, f) => sum + sizeOf(f).raw, 0);
    // Keys are the chunks' names (app/src/pages.rs groups pages into a few chunks).
    const page = `a page in "${key}"`;
    pages.push({ page, key, files, raw, wire });
  }
  pages.sort((a, b) => b.wire - a.wire);
  for (const p of pages) {
    console.log(`cold load of ${p.page}: ${p.wire} bytes brotli (${p.raw} raw) in ${p.files.length} WASM files`);
  }
} else {
  pages.push({ page: "(unsplit)", key: "", files: [main], raw: sizeOf(main).raw, wire: sizeOf(main).wire });
}

if (process.argv.includes("--json")) {
  console.log(JSON.stringify({ main, sizes: Object.fromEntries(sizes), pages }, null, 2));
}

const flag = process.argv.indexOf("--max-brotli");
if (flag !== -1) {
  const limit = Number(process.argv[flag + 1]);
  if (!(limit > 0)) {
    console.error("--max-brotli needs a number of bytes");
    process.exit(2);
  }
  const worst = pages[0];
  if (worst.wire > limit) {
    console.error(
      `a cold load of ${worst.page} fetches ${worst.wire} bytes of brotli-compressed WASM, over the limit of ${limit}`,
    );
    process.exit(1);
  }
  console.log(`every page's cold load (largest: ${worst.page}, ${worst.wire} bytes) is within the limit of ${limit} bytes`);
}
