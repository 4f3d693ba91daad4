//! WGSL sources of the kernels. Each is generated once per variant and cached as a pipeline by
//! `Context::kernel`. Shapes, strides and scalars travel in a `array<u32>` parameter block at
//! binding 0 (floats as bit patterns), so one pipeline serves every shape.
//!
//! 1-D kernels define `fn item(i: u32)` for one element and share a grid-stride entry point.

use autodiff::{BinaryOp, ReduceOp, UnaryOp};

const HEADER: &str = "@group(0) @binding(0) var<storage, read> P: array<u32>;\n";

/// The entry point of every 1-D kernel: a grid-stride loop calling `item(i)` for each element
/// index i < P[0]. The host launches at most a few thousand workgroups (a few dozen on software
/// adapters, where each workgroup is a task with a fixed cost of microseconds) and each thread
/// takes every `stride`-th element.
const INDEX: &str = "
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let stride = nwg.x * nwg.y * 256u;
    for (var i = gid.x + gid.y * nwg.x * 256u; i < P[0]; i += stride) { item(i); }
}
";

/// log(1 + y) for y in [0, 1] without the cancellation of log(1.0 + y): with s = y / (2 + y),
/// log1p(y) = 2 atanh(s) = 2 (s + s^3/3 + s^5/5 + ...), all terms positive and s <= 1/3, so
/// nine terms reach f32 precision.
const LOG1P: &str = "
fn log1p_unit(y: f32) -> f32 {
    let s = y / (2.0 + y);
    let t = s * s;
    let p = 1.0 + t * (1.0 / 3.0 + t * (1.0 / 5.0 + t * (1.0 / 7.0 + t * (1.0 / 9.0 + t * (1.0 / 11.0
        + t * (1.0 / 13.0 + t * (1.0 / 15.0 + t * (1.0 / 17.0))))))));
    return 2.0 * s * p;
}
";

/// tanh with full relative precision near 0 (Taylor series, where exp-based formulas cancel)
/// and no overflow for large |x| (through exp(-2|x|) <= 1).
const TANH: &str = "
fn tanh_(x: f32) -> f32 {
    let a = abs(x);
    if (a < 0.5) {
        let t = x * x;
        let p = 1.0 + t * (-1.0 / 3.0 + t * (2.0 / 15.0 + t * (-17.0 / 315.0 + t * (62.0 / 2835.0
            + t * (-1382.0 / 155925.0 + t * (21844.0 / 6081075.0 + t * (-929569.0 / 638512875.0
            + t * (6404582.0 / 10854718875.0))))))));
        return x * p;
    }
    let e = exp(-2.0 * a);
    return sign(x) * (1.0 - e) / (1.0 + e);
}
";

/// Body of `fn op(x0: f32) -> f32`; `s(k)` reads scalar parameter k.
pub(crate) fn unary_body(op: UnaryOp) -> (&'static str, &'static str) {
    // (key, body)
    match op {
        UnaryOp::Neg => ("neg", "return -x0;"),
        UnaryOp::Exp => ("exp", "return exp(x0);"),
        UnaryOp::Log => ("log", "return log(x0);"),
        UnaryOp::Sqrt => ("sqrt", "return sqrt(x0);"),
        UnaryOp::Abs => ("abs", "return abs(x0);"),
        UnaryOp::Square => ("square", "return x0 * x0;"),
        UnaryOp::Recip => ("recip", "return 1.0 / x0;"),
        UnaryOp::Tanh => ("tanh", "return tanh_(x0);"),
        // Two branches so that exp never overflows, as on the CPU.
        UnaryOp::Sigmoid => {
            ("sigmoid", "if (x0 >= 0.0) { return 1.0 / (1.0 + exp(-x0)); } let e = exp(x0); return e / (1.0 + e);")
        }
        UnaryOp::Relu => ("relu", "return select(0.0, x0, x0 > 0.0);"),
        UnaryOp::Softplus => ("softplus", "return max(x0, 0.0) + log1p_unit(exp(-abs(x0)));"),
        UnaryOp::Step => ("step", "return select(0.0, 1.0, x0 > 0.0);"),
        UnaryOp::Sign => ("sign", "if (x0 > 0.0) { return 1.0; } if (x0 < 0.0) { return -1.0; } return 0.0;"),
        // WGSL's pow is undefined for x < 0 and for 0^p with p <= 0; the CPU's powf is not.
        // s(1) holds a NaN for the cases powf leaves undefined too.
        UnaryOp::Powf(_) => (
            "powf",
            "let p = s(0);
    if (p == 0.0) { return 1.0; }
    if (p == 1.0) { return x0; }
    if (p == 2.0) { return x0 * x0; }
    if (p == 0.5) { return sqrt(x0); }
    let a = abs(x0);
    var r: f32;
    if (a == 0.0) { r = select(s(2), 0.0, p > 0.0); } else { r = pow(a, p); }
    if (x0 < 0.0) {
        if (floor(p) != p) { return s(1); }
        let h = p * 0.5;
        if (floor(h) != h) { return -r; }
    }
    return r;",
        ),
        UnaryOp::Affine { .. } => ("affine", "return x0 * s(0) + s(1);"),
        UnaryOp::Clamp { .. } => ("clamp", "return min(max(x0, s(0)), s(1));"),
        UnaryOp::LeakyRelu(_) => ("leaky_relu", "return select(x0 * s(0), x0, x0 > 0.0);"),
    }
}

/// The four scalar parameters of a unary op, as f32 (what the CPU computes with in f32).
pub(crate) fn unary_scalars(op: UnaryOp) -> [f32; 4] {
    match op {
        UnaryOp::Powf(p) => [p as f32, f32::NAN, f32::INFINITY, 0.0],
        UnaryOp::Affine { mul, add } => [mul as f32, add as f32, 0.0, 0.0],
        UnaryOp::Clamp { lo, hi } => [lo as f32, hi as f32, 0.0, 0.0],
        UnaryOp::LeakyRelu(s) => [s as f32, 0.0, 0.0, 0.0],
        _ => [0.0; 4],
    }
}

pub(crate) fn binary_body(op: BinaryOp) -> (&'static str, &'static str) {
    match op {
        BinaryOp::Add => ("add", "return x0 + x1;"),
        BinaryOp::Sub => ("sub", "return x0 - x1;"),
        BinaryOp::Mul => ("mul", "return x0 * x1;"),
        BinaryOp::Div => ("div", "return x0 / x1;"),
        BinaryOp::Maximum => ("maximum", "return select(x1, x0, x0 >= x1);"),
        BinaryOp::Minimum => ("minimum", "return select(x1, x0, x0 <= x1);"),
        BinaryOp::Eq => ("eq", "return select(0.0, 1.0, x0 == x1);"),
        BinaryOp::Gt => ("gt", "return select(0.0, 1.0, x0 > x1);"),
        BinaryOp::Ge => ("ge", "return select(0.0, 1.0, x0 >= x1);"),
        BinaryOp::Lt => ("lt", "return select(0.0, 1.0, x0 < x1);"),
        BinaryOp::Le => ("le", "return select(0.0, 1.0, x0 <= x1);"),
        BinaryOp::WherePositive => ("where_positive", "return select(0.0, x0, x1 > 0.0);"),
    }
}

/// An element-wise kernel over `nin` strided inputs writing a strided output (operand 0).
/// `flat` is the variant for walks the host collapsed to rank <= 1, where an operand's index is
/// `offset + i * stride` with no division.
///
/// Parameters: `[n, rank, s0, s1, s2, s3, shape[rank], then per operand (output first):
/// offset, strides[rank]]`. Operands are unrolled into separate variables: software adapters
/// vectorise across threads, and a per-thread array indexed at run time becomes a gather there.
pub(crate) fn elementwise(nin: usize, body: &str, flat: bool) -> String {
    let nops = nin + 1;
    let mut src = String::from(HEADER);
    src += "@group(0) @binding(1) var<storage, read_write> OUT: array<f32>;\n";
    for i in 0..nin {
        src += &format!("@group(0) @binding({}) var<storage, read> X{i}: array<f32>;\n", i + 2);
    }
    src += INDEX;
    src += LOG1P;
    src += TANH;
    src += "fn s(k: u32) -> f32 { return bitcast<f32>(P[2u + k]); }\n";
    let args: Vec<String> = (0..nin).map(|i| format!("x{i}: f32")).collect();
    src += &format!("fn op({}) -> f32 {{\n    {body}\n}}\n", args.join(", "));
    let loads: Vec<String> = (0..nin).map(|i| format!("X{i}[o{}]", i + 1)).collect();
    let mut index = String::new();
    if flat {
        for j in 0..nops {
            index += &format!("    let o{j} = P[{}u] + i * P[{}u];\n", 7 + 2 * j, 8 + 2 * j);
        }
    } else {
        for j in 0..nops {
            index += &format!("    var o{j} = P[ops + {j}u * (rank + 1u)];\n");
        }
        index += "    var rem = i;\n    for (var d = rank; d > 0u; d--) {\n        let ax = d - 1u;\n";
        index += "        let size = P[6u + ax];\n        let q = rem / size;\n        let c = rem - q * size;\n        rem = q;\n";
        for j in 0..nops {
            index += &format!("        o{j} += c * P[ops + {j}u * (rank + 1u) + 1u + ax];\n");
        }
        index += "    }\n";
    }
    src += &format!(
        "
fn item(i: u32) {{
    let rank = P[1];
    let ops = 6u + rank;
{index}    OUT[o0] = op({});
}}
",
        loads.join(", ")
    );
    src
}

fn combine(op: ReduceOp) -> &'static str {
    // NaN wins, as on the CPU.
    match op {
        ReduceOp::Sum => "fn combine(a: f32, b: f32) -> f32 { return a + b; }\n",
        ReduceOp::Max => "fn combine(a: f32, b: f32) -> f32 { return select(a, b, b > a || b != b); }\n",
        ReduceOp::Min => "fn combine(a: f32, b: f32) -> f32 { return select(a, b, b < a || b != b); }\n",
    }
}

/// Shared by both reductions. Parameters: `[outputs, reduced count, kept rank, reduced rank,
/// offset, init, kept shape, kept strides, reduced shape, reduced strides]`.
const REDUCE_COMMON: &str = "
fn kept_offset(i: u32) -> u32 {
    let kr = P[2];
    var off = P[4];
    var rem = i;
    for (var d = kr; d > 0u; d--) {
        let ax = d - 1u;
        let size = P[6u + ax];
        let q = rem / size;
        off += (rem - q * size) * P[6u + kr + ax];
        rem = q;
    }
    return off;
}
fn red_offset(r: u32) -> u32 {
    let kr = P[2];
    let rr = P[3];
    let base = 6u + 2u * kr;
    var off = 0u;
    var rem = r;
    for (var d = rr; d > 0u; d--) {
        let ax = d - 1u;
        let size = P[base + ax];
        let q = rem / size;
        off += (rem - q * size) * P[base + rr + ax];
        rem = q;
    }
    return off;
}
";

/// One thread per output, walking the reduced block in order: for many short reductions.
pub(crate) fn reduce_thread(op: ReduceOp) -> String {
    format!(
        "{HEADER}@group(0) @binding(1) var<storage, read_write> OUT: array<f32>;
@group(0) @binding(2) var<storage, read> X: array<f32>;
{INDEX}{}{REDUCE_COMMON}
fn item(i: u32) {{
    let base = kept_offset(i);
    // The innermost reduced axis runs as a tight loop.
    let kr = P[2];
    let rr = P[3];
    let inner = P[6u + 2u * kr + rr - 1u];
    let stride = P[6u + 2u * kr + 2u * rr - 1u];
    let outer = P[1] / max(inner, 1u);
    var acc = bitcast<f32>(P[5]);
    for (var q = 0u; q < outer; q++) {{
        let b = base + red_offset(q * inner);
        for (var t = 0u; t < inner; t++) {{ acc = combine(acc, X[b + t * stride]); }}
    }}
    OUT[i] = acc;
}}
",
        combine(op)
    )
}

/// One workgroup per output, threads striding over the reduced block and then a tree in
/// workgroup memory: for long reductions (bias gradients, full sums).
pub(crate) fn reduce_group(op: ReduceOp) -> String {
    format!(
        "{HEADER}@group(0) @binding(1) var<storage, read_write> OUT: array<f32>;
@group(0) @binding(2) var<storage, read> X: array<f32>;
{}{REDUCE_COMMON}
var<workgroup> sh: array<f32, 256>;
@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {{
    let o = wid.x + wid.y * nwg.x;
    let live = o < P[0];
    var acc = bitcast<f32>(P[5]);
    if (live) {{
        let base = kept_offset(o);
        for (var r = lid; r < P[1]; r += 256u) {{ acc = combine(acc, X[base + red_offset(r)]); }}
    }}
    sh[lid] = acc;
    workgroupBarrier();
    for (var s = 128u; s > 0u; s = s >> 1u) {{
        if (lid < s) {{ sh[lid] = combine(sh[lid], sh[lid + s]); }}
        workgroupBarrier();
    }}
    if (live && lid == 0u) {{ OUT[o] = sh[0]; }}
}}
",
        combine(op)
    )
}

/// Shared by both matmul kernels. Parameters: `[M, N, K, a offset, a row stride, a k stride,
/// b offset, b k stride, b col stride, splits, k chunk, batch count, batch base, batch rank,
/// batch shape, a batch strides, b batch strides]`. Workgroup z is (batch entry, k split).
const MATMUL_COMMON: &str = "
@group(0) @binding(1) var<storage, read_write> C: array<f32>;
@group(0) @binding(2) var<storage, read> A: array<f32>;
@group(0) @binding(3) var<storage, read> B: array<f32>;
struct Problem { a: u32, b: u32, c: u32, k0: u32, k1: u32 }
fn problem(z: u32) -> Problem {
    let splits = P[9];
    let split = z % splits;
    let batch = P[12] + z / splits;
    let br = P[13];
    var a = P[3];
    var b = P[6];
    var rem = batch;
    for (var d = br; d > 0u; d--) {
        let ax = d - 1u;
        let size = P[14u + ax];
        let c = rem % size;
        rem = rem / size;
        a += c * P[14u + br + ax];
        b += c * P[14u + 2u * br + ax];
    }
    let k0 = split * P[10];
    let k1 = min(P[2], k0 + P[10]);
    return Problem(a, b, (split * P[11] + batch) * P[0] * P[1], k0, k1);
}
";

/// The general product: a 64x64 output tile per 16x16 workgroup, 4x4 outputs per thread, A and
/// B staged through workgroup memory 16 deep along k (8.5 KiB, about half of WebGPU's guaranteed
/// 16 KiB). Tile loads read any strides; the element each thread loads is chosen so that
/// neighbouring threads read neighbouring addresses whichever operand axis is the contiguous one.
/// Rows of the staged tiles are 68 floats apart, not 64: when 16 neighbouring threads store one
/// k-column, a 64-float pitch puts all 16 stores in one memory bank; 68 spreads them over 8
/// banks while keeping each thread's 4-float reads 16-byte aligned.
pub(crate) fn matmul_tiled(vec4: bool) -> String {
    let (common, loads) = if vec4 {
        (
            MATMUL_COMMON
                .replace("var<storage, read> A: array<f32>;", "var<storage, read> A4: array<vec4<f32>>;")
                .replace("var<storage, read> B: array<f32>;", "var<storage, read> B4: array<vec4<f32>>;"),
            TILE_LOADS_VEC4,
        )
    } else {
        (MATMUL_COMMON.to_string(), TILE_LOADS)
    };
    format!(
        "{HEADER}{common}{STORE}
var<workgroup> As: array<f32, 1088>; // [k][64 rows + 4 padding]
var<workgroup> Bs: array<f32, 1088>; // [k][64 cols + 4 padding]
@compute @workgroup_size(16, 16)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {{
    let M = P[0];
    let N = P[1];
    let a_rs = P[4];
    let a_ks = P[5];
    let b_ks = P[7];
    let b_cs = P[8];
    let pr = problem(wid.z);
    let row0 = wid.y * 64u;
    let col0 = wid.x * 64u;
    let tid = lid.y * 16u + lid.x;
    let a_k_fast = a_ks == 1u;
    let b_c_fast = b_cs == 1u || b_ks != 1u;
    var c0 = vec4<f32>(0.0);
    var c1 = vec4<f32>(0.0);
    var c2 = vec4<f32>(0.0);
    var c3 = vec4<f32>(0.0);
    for (var k0 = pr.k0; k0 < pr.k1; k0 += 16u) {{
{loads}        workgroupBarrier();
        for (var kk = 0u; kk < 16u; kk++) {{
            let ai = kk * 68u + lid.y * 4u;
            let bi = kk * 68u + lid.x * 4u;
            let a = vec4<f32>(As[ai], As[ai + 1u], As[ai + 2u], As[ai + 3u]);
            let b = vec4<f32>(Bs[bi], Bs[bi + 1u], Bs[bi + 2u], Bs[bi + 3u]);
            c0 += a.x * b;
            c1 += a.y * b;
            c2 += a.z * b;
            c3 += a.w * b;
        }}
        workgroupBarrier();
    }}
    store(pr.c, row0 + lid.y * 4u, col0 + lid.x * 4u, c0, c1, c2, c3);
}}
"
    )
}

/// Tile loads for any strides, one scalar per load.
const TILE_LOADS: &str = "        for (var j = 0u; j < 4u; j++) {
            let t = tid + 256u * j;
            var r: u32;
            var kk: u32;
            if (a_k_fast) { r = t / 16u; kk = t % 16u; } else { r = t % 64u; kk = t / 64u; }
            var v = 0.0;
            if (row0 + r < M && k0 + kk < pr.k1) { v = A[pr.a + (row0 + r) * a_rs + (k0 + kk) * a_ks]; }
            As[kk * 68u + r] = v;
            var c: u32;
            if (b_c_fast) { kk = t / 64u; c = t % 64u; } else { kk = t % 16u; c = t / 16u; }
            var w = 0.0;
            if (col0 + c < N && k0 + kk < pr.k1) { w = B[pr.b + (k0 + kk) * b_ks + (col0 + c) * b_cs]; }
            Bs[kk * 68u + c] = w;
        }
";

/// Tile loads when A is k-contiguous, B is n-contiguous, both 16-byte aligned and k and n are
/// multiples of 4: each thread reads one vec4 of A (4 k of a row) and one of B (4 columns of a
/// k), a quarter of the load instructions.
const TILE_LOADS_VEC4: &str = "        let ar = tid / 4u;
        let ak = 4u * (tid % 4u);
        var va = vec4<f32>(0.0);
        if (row0 + ar < M && k0 + ak < pr.k1) { va = A4[(pr.a + (row0 + ar) * a_rs + k0 + ak) / 4u]; }
        As[ak * 68u + ar] = va.x;
        As[(ak + 1u) * 68u + ar] = va.y;
        As[(ak + 2u) * 68u + ar] = va.z;
        As[(ak + 3u) * 68u + ar] = va.w;
        let bk = tid / 16u;
        let bc = 4u * (tid % 16u);
        var vb = vec4<f32>(0.0);
        if (k0 + bk < pr.k1 && col0 + bc < N) { vb = B4[(pr.b + (k0 + bk) * b_ks + col0 + bc) / 4u]; }
        let bi = bk * 68u + bc;
        Bs[bi] = vb.x;
        Bs[bi + 1u] = vb.y;
        Bs[bi + 2u] = vb.z;
        Bs[bi + 3u] = vb.w;
";

/// Writes a thread's 4x4 block, unrolled: a loop indexing the accumulators at run time would be
/// a per-thread array in memory on software adapters.
const STORE: &str = "
fn store_row(c: u32, row: u32, col: u32, v: vec4<f32>) {
    let M = P[0];
    let N = P[1];
    if (row >= M) { return; }
    let base = c + row * N + col;
    if (col < N) { C[base] = v.x; }
    if (col + 1u < N) { C[base + 1u] = v.y; }
    if (col + 2u < N) { C[base + 2u] = v.z; }
    if (col + 3u < N) { C[base + 3u] = v.w; }
}
fn store(c: u32, row: u32, col: u32, v0: vec4<f32>, v1: vec4<f32>, v2: vec4<f32>, v3: vec4<f32>) {
    store_row(c, row, col, v0);
    store_row(c, row + 1u, col, v1);
    store_row(c, row + 2u, col, v2);
    store_row(c, row + 3u, col, v3);
}
";

/// The same 4x4-per-thread blocking without workgroup memory, for software adapters: there
/// workgroup memory is ordinary memory behind a barrier that suspends every thread, and the
/// CPU's caches already do what the tile staging does on a GPU.
pub(crate) fn matmul_register() -> String {
    format!(
        "{HEADER}{MATMUL_COMMON}{STORE}
@compute @workgroup_size(16, 16)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {{
    let M = P[0];
    let N = P[1];
    let a_ks = P[5];
    let b_ks = P[7];
    let pr = problem(wid.z);
    let row = wid.y * 64u + lid.y * 4u;
    let col = wid.x * 64u + lid.x * 4u;
    // Rows and columns past the edge read the last valid one (in bounds); the store drops them.
    let a0 = pr.a + min(row, M - 1u) * P[4];
    let a1 = pr.a + min(row + 1u, M - 1u) * P[4];
    let a2 = pr.a + min(row + 2u, M - 1u) * P[4];
    let a3 = pr.a + min(row + 3u, M - 1u) * P[4];
    let b0 = pr.b + min(col, N - 1u) * P[8];
    let b1 = pr.b + min(col + 1u, N - 1u) * P[8];
    let b2 = pr.b + min(col + 2u, N - 1u) * P[8];
    let b3 = pr.b + min(col + 3u, N - 1u) * P[8];
    var c0 = vec4<f32>(0.0);
    var c1 = vec4<f32>(0.0);
    var c2 = vec4<f32>(0.0);
    var c3 = vec4<f32>(0.0);
    for (var k = pr.k0; k < pr.k1; k++) {{
        let ka = k * a_ks;
        let kb = k * b_ks;
        let b = vec4<f32>(B[b0 + kb], B[b1 + kb], B[b2 + kb], B[b3 + kb]);
        c0 += A[a0 + ka] * b;
        c1 += A[a1 + ka] * b;
        c2 += A[a2 + ka] * b;
        c3 += A[a3 + ka] * b;
    }}
    store(pr.c, row, col, c0, c1, c2, c3);
}}
"
    )
}

/// Skinny products (n <= 4, such as a regression head): one thread per output row keeps all n
/// sums in a register vector; a 64-wide tile would leave most of its columns idle.
pub(crate) fn matmul_skinny() -> String {
    format!(
        "{HEADER}{MATMUL_COMMON}{STORE}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {{
    let M = P[0];
    let N = P[1];
    let row = gid.x;
    if (row >= M) {{ return; }}
    let pr = problem(wid.z);
    let a_base = pr.a + row * P[4];
    // Columns past n read column 0 (in bounds); the store drops them.
    let b0 = pr.b;
    let b1 = pr.b + select(0u, P[8], N > 1u);
    let b2 = pr.b + select(0u, 2u * P[8], N > 2u);
    let b3 = pr.b + select(0u, 3u * P[8], N > 3u);
    var acc = vec4<f32>(0.0);
    for (var k = pr.k0; k < pr.k1; k++) {{
        let kb = k * P[7];
        acc += A[a_base + k * P[5]] * vec4<f32>(B[b0 + kb], B[b1 + kb], B[b2 + kb], B[b3 + kb]);
    }}
    store_row(pr.c, row, 0u, acc);
}}
"
    )
}

/// Picks entries along one axis. Parameters: `[n, rank, axis, x offset, out shape[rank],
/// x strides[rank]]`.
pub(crate) fn index_select() -> String {
    format!(
        "{HEADER}@group(0) @binding(1) var<storage, read_write> OUT: array<f32>;
@group(0) @binding(2) var<storage, read> X: array<f32>;
@group(0) @binding(3) var<storage, read> IDX: array<u32>;
{INDEX}
fn item(i: u32) {{
    let rank = P[1];
    let axis = P[2];
    var off = P[3];
    var rem = i;
    for (var d = rank; d > 0u; d--) {{
        let ax = d - 1u;
        let size = P[4u + ax];
        var c = rem % size;
        rem = rem / size;
        if (ax == axis) {{ c = IDX[c]; }}
        off += c * P[4u + rank + ax];
    }}
    OUT[i] = X[off];
}}
"
    )
}

/// The adjoint of index_select without atomics: each output element sums, in index order, the
/// source slices whose index points at it. The host inverts the index list into `STARTS`/`JS`
/// (CSR: the positions j with idx[j] == t are JS[STARTS[t]..STARTS[t+1]], ascending), so the
/// sums come out in the CPU's order and bit-for-bit reproducible. Parameters: `[n, rank, axis,
/// src offset, out shape[rank], src strides[rank]]`.
pub(crate) fn index_add() -> String {
    format!(
        "{HEADER}@group(0) @binding(1) var<storage, read_write> OUT: array<f32>;
@group(0) @binding(2) var<storage, read> SRC: array<f32>;
@group(0) @binding(3) var<storage, read> STARTS: array<u32>;
@group(0) @binding(4) var<storage, read> JS: array<u32>;
{INDEX}
fn item(i: u32) {{
    let rank = P[1];
    let axis = P[2];
    var off = P[3];
    var target_ = 0u;
    var rem = i;
    for (var d = rank; d > 0u; d--) {{
        let ax = d - 1u;
        let size = P[4u + ax];
        let c = rem % size;
        rem = rem / size;
        if (ax == axis) {{ target_ = c; }} else {{ off += c * P[4u + rank + ax]; }}
    }}
    let stride = P[4u + rank + axis];
    var acc = 0.0;
    for (var q = STARTS[target_]; q < STARTS[target_ + 1u]; q++) {{ acc = acc + SRC[off + JS[q] * stride]; }}
    OUT[i] = acc;
}}
"
    )
}

/// Philox4x32-10 and the block mapping of `autodiff::rng::block_f32` (element a is lane a % 4
/// of block a / 4), so CPU and GPU draw the same numbers. Parameters: `[n, seed lo, seed hi,
/// counter lo, counter hi, kind, a, b]` with kind 0 uniform (a + b u), 1 normal (a + b z),
/// 2 Rademacher.
pub(crate) fn random() -> String {
    format!(
        "{HEADER}@group(0) @binding(1) var<storage, read_write> OUT: array<f32>;
{INDEX}
// WGSL has no 64-bit integers: the high word of a 32x32 product from 16-bit halves.
fn mulhi(a: u32, b: u32) -> u32 {{
    let al = a & 0xffffu;
    let ah = a >> 16u;
    let bl = b & 0xffffu;
    let bh = b >> 16u;
    let ll = al * bl;
    let lh = al * bh;
    let hl = ah * bl;
    let mid = (ll >> 16u) + (lh & 0xffffu) + (hl & 0xffffu);
    return ah * bh + (lh >> 16u) + (hl >> 16u) + (mid >> 16u);
}}
fn philox_round(c: vec4<u32>, k: vec2<u32>) -> vec4<u32> {{
    return vec4<u32>(mulhi(0xCD9E8D57u, c.z) ^ c.y ^ k.x, 0xCD9E8D57u * c.z, mulhi(0xD2511F53u, c.x) ^ c.w ^ k.y,
        0xD2511F53u * c.x);
}}
// Ten rounds, unrolled, with the key bumped by the Weyl constants before each after the first.
fn philox(ctr: vec4<u32>, key: vec2<u32>) -> vec4<u32> {{
    let w = vec2<u32>(0x9E3779B9u, 0xBB67AE85u);
    var c = philox_round(ctr, key);
    c = philox_round(c, key + w);
    c = philox_round(c, key + 2u * w);
    c = philox_round(c, key + 3u * w);
    c = philox_round(c, key + 4u * w);
    c = philox_round(c, key + 5u * w);
    c = philox_round(c, key + 6u * w);
    c = philox_round(c, key + 7u * w);
    c = philox_round(c, key + 8u * w);
    return philox_round(c, key + 9u * w);
}}
fn unit(w: u32) -> f32 {{ return (f32(w >> 9u) + 0.5) * (1.0 / 8388608.0); }}
fn item(i: u32) {{
    // Element a = counter + i (64-bit) is lane a % 4 of Philox block a / 4.
    let lo = P[3] + i;
    let hi = P[4] + select(0u, 1u, lo < i);
    let lane = lo & 3u;
    let w = philox(vec4<u32>((lo >> 2u) | (hi << 30u), hi >> 2u, 0u, 0u), vec2<u32>(P[1], P[2]));
    let a = bitcast<f32>(P[6]);
    let b = bitcast<f32>(P[7]);
    let mine = select(select(w.x, w.y, lane == 1u), select(w.z, w.w, lane == 3u), lane >= 2u);
    var v: f32;
    switch P[5] {{
        case 0u: {{ v = a + b * unit(mine); }}
        case 1u: {{
            // Box-Muller pairs: lanes 0, 1 from words (x, y), lanes 2, 3 from (z, w);
            // even lanes take r cos t, odd lanes r sin t.
            let pair = select(w.xy, w.zw, lane >= 2u);
            let r = sqrt(-2.0 * log(unit(pair.x)));
            let t = 6.2831855 * unit(pair.y);
            v = a + b * r * select(cos(t), sin(t), (lane & 1u) == 1u);
        }}
        default: {{ v = select(-1.0, 1.0, (mine >> 31u) == 1u); }}
    }}
    OUT[i] = v;
}}
"
    )
}

/// One fused Adam/AdamW update, in place. Parameters: `[n, beta1, beta2, eps, lr / bc1,
/// sqrt(bc2), 1 - lr wd]`, the order of operations copied from the CPU kernel.
pub(crate) fn adam() -> String {
    format!(
        "{HEADER}@group(0) @binding(1) var<storage, read_write> PARAM: array<f32>;
@group(0) @binding(2) var<storage, read> GRAD: array<f32>;
@group(0) @binding(3) var<storage, read_write> M1: array<f32>;
@group(0) @binding(4) var<storage, read_write> M2: array<f32>;
{INDEX}
fn f(k: u32) -> f32 {{ return bitcast<f32>(P[k]); }}
fn item(i: u32) {{
    let b1 = f(1u);
    let b2 = f(2u);
    let g = GRAD[i];
    let m = b1 * M1[i] + (1.0 - b1) * g;
    let v = b2 * M2[i] + (1.0 - b2) * g * g;
    M1[i] = m;
    M2[i] = v;
    PARAM[i] = PARAM[i] * f(6u) - f(4u) * m / (sqrt(v) / f(5u) + f(3u));
}}
"
    )
}

/// SGD with optional momentum and weight decay, in place. Parameters: `[n, lr, momentum, wd]`.
pub(crate) fn sgd(momentum: bool) -> String {
    let (binding, body) = if momentum {
        (
            "@group(0) @binding(3) var<storage, read_write> VEL: array<f32>;\n",
            "let v = f(2u) * VEL[i] + GRAD[i] + f(3u) * PARAM[i];
    VEL[i] = v;
    PARAM[i] = PARAM[i] - f(1u) * v;",
        )
    } else {
        ("", "PARAM[i] = PARAM[i] - f(1u) * (GRAD[i] + f(3u) * PARAM[i]);")
    };
    format!(
        "{HEADER}@group(0) @binding(1) var<storage, read_write> PARAM: array<f32>;
@group(0) @binding(2) var<storage, read> GRAD: array<f32>;
{binding}{INDEX}
fn f(k: u32) -> f32 {{ return bitcast<f32>(P[k]); }}
fn item(i: u32) {{
    {body}
}}
"
    )
}
