// Sizes of the console's WASM as built in target/site/pkg: raw, gzip -9 and brotli
// (quality 11, as the precompressed .br files are made). With `--max-brotli <bytes>` it
// exits 1 when the brotli size is above that limit (scripts/test runs it after the
// release build).
//
//   node end2end/bench/wasm-size.mjs [--max-brotli 400000]
import { readdirSync, readFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";

const pkg = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "target", "site", "pkg");
const files = readdirSync(pkg).filter((name) => name.endsWith(".wasm"));
if (files.length !== 1) {
  console.error(`expected one .wasm in ${pkg}, found: ${files.join(", ") || "none"}`);
  process.exit(1);
}
const wasm = readFileSync(join(pkg, files[0]));
const gzip = gzipSync(wasm, { level: 9 }).length;
const brotli = brotliCompressSync(wasm, {
  params: {
    [constants.BROTLI_PARAM_QUALITY]: 11,
    [constants.BROTLI_PARAM_SIZE_HINT]: wasm.length,
  },
}).length;
// What is actually served: the build's precompressed copy when there is one.
let served = brotli;
try {
  served = readFileSync(join(pkg, `${files[0]}.br`)).length;
} catch {
  // no precompressed copy (a build without --precompress)
}
console.log(`wasm ${files[0]}: raw=${wasm.length} gzip=${gzip} brotli=${brotli} served_br=${served}`);

const flag = process.argv.indexOf("--max-brotli");
if (flag !== -1) {
  const limit = Number(process.argv[flag + 1]);
  if (!(limit > 0)) {
    console.error("--max-brotli needs a number of bytes");
    process.exit(2);
  }
  if (Math.max(brotli, served) > limit) {
    console.error(`the WASM is ${Math.max(brotli, served)} bytes brotli-compressed, over the limit of ${limit}`);
    process.exit(1);
  }
  console.log(`brotli size within the limit of ${limit} bytes`);
}
