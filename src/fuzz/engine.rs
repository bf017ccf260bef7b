//! A small mutational fuzzer that runs on stable Rust: no coverage instrumentation, so it is
//! guided by outcomes instead. Every target returns a short label of what became of an input
//! (`ok`, or which refusal); an input that earns a label not seen before joins the working
//! corpus, so the search keeps building on inputs that got somewhere new. Deterministic for a
//! given seed and corpus (up to the time budget), so a failure can be replayed.

use std::collections::BTreeSet;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use super::Target;

/// Longest input the mutator makes (the API's body limit is 64 KiB; most parsers need far less).
pub const MAX_INPUT: usize = 16 * 1024;
/// Most inputs kept in the working corpus.
const MAX_CORPUS: usize = 4096;
/// Past this many admitted inputs (corpus and finds), a new label no longer admits one: a
/// parser that echoes its input in an error message would flood the corpus with look-alikes.
const MAX_ADMITTED: usize = 512;

/// splitmix64: tiny, fast and good enough to drive mutations.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }
}

/// Bytes that often matter to text parsers: separators, quotes, escapes, numbers at the edges.
const TOKENS: &[&[u8]] = &[
    b"\n",
    b"\n\n",
    b"\r\n",
    b" ",
    b"\t",
    b"\0",
    b"\"",
    b"\\",
    b"\\u",
    b"\\ud800",
    b"{",
    b"}",
    b"[",
    b"]",
    b":",
    b",",
    b".",
    b"=",
    b"&",
    b"%",
    b"%00",
    b"%ff",
    b"+",
    b"-",
    b"/",
    b"..",
    b"null",
    b"true",
    b"false",
    b"0",
    b"-0",
    b"1e999",
    b"-1",
    b"00",
    b"255",
    b"256",
    b"65536",
    b"2147483648",
    b"4294967296",
    b"9223372036854775807",
    b"9223372036854775808",
    b"18446744073709551615",
    b"18446744073709551616",
    b"\xe2\x80\x94 ",
    b"\xc3\xa9",
    b"\xf0\x9f\x98\x80",
    b"\xed\xa0\x80",
    b"\xff",
    b"==",
    b"AAAA",
    b"Zm9v",
    b"@now",
    b"@exp",
    b"2026-02-29",
    b"9999-12-31T23:59:59Z",
    b"+10000-01-01T00:00:00Z",
    b"123456782",
    b"00000099000000000042",
];

/// Numbers worth trying in place of a number already in the input.
const NUMBERS: &[&[u8]] = &[
    b"0",
    b"1",
    b"-1",
    b"2",
    b"3",
    b"7",
    b"63",
    b"64",
    b"127",
    b"128",
    b"1000",
    b"1001",
    b"4294967295",
    b"9223372036854775807",
    b"9223372036854775808",
    b"-9223372036854775808",
    b"18446744073709551615",
    b"18446744073709551616",
    b"1e308",
    b"0.5",
];

/// One to four stacked mutations of `base`, sometimes spliced with another corpus input.
pub fn mutate(rng: &mut Rng, base: &[u8], corpus: &[Vec<u8>]) -> Vec<u8> {
    let mut out = base.to_vec();
    let rounds = 1 + rng.below(4);
    for _ in 0..rounds {
        let len = out.len();
        match rng.below(12) {
            // Flip a bit.
            0 if len > 0 => {
                let i = rng.below(len);
                out[i] ^= 1 << rng.below(8);
            }
            // Overwrite a byte: printable ASCII mostly, anything sometimes.
            1 if len > 0 => {
                let i = rng.below(len);
                out[i] = if rng.chance(4) {
                    rng.below(256) as u8
                } else {
                    0x20 + rng.below(0x5f) as u8
                };
            }
            // Insert random bytes.
            2 => {
                let i = rng.below(len + 1);
                let n = 1 + rng.below(8);
                let bytes: Vec<u8> = (0..n).map(|_| rng.below(256) as u8).collect();
                out.splice(i..i, bytes);
            }
            // Delete a range.
            3 if len > 0 => {
                let i = rng.below(len);
                let n = 1 + rng.below((len - i).min(32));
                out.drain(i..i + n);
            }
            // Duplicate a range (repeat a field, a line, a signature).
            4 if len > 0 => {
                let i = rng.below(len);
                let n = 1 + rng.below((len - i).min(256));
                let chunk = out[i..i + n].to_vec();
                let at = rng.below(out.len() + 1);
                let times = if rng.chance(8) { 1 + rng.below(64) } else { 1 };
                for _ in 0..times {
                    out.splice(at..at, chunk.iter().copied());
                }
            }
            // Insert or overwrite with a token.
            5 | 6 => {
                let t = TOKENS[rng.below(TOKENS.len())];
                let i = rng.below(len + 1);
                if rng.chance(2) || i + t.len() > len {
                    out.splice(i..i, t.iter().copied());
                } else {
                    out.splice(i..i + t.len(), t.iter().copied());
                }
            }
            // Replace a number in the input by an interesting one.
            7 => replace_number(rng, &mut out),
            // Splice: our head, another input's tail.
            8 if !corpus.is_empty() => {
                let other = &corpus[rng.below(corpus.len())];
                let i = rng.below(len + 1);
                let j = rng.below(other.len() + 1);
                out.truncate(i);
                out.extend_from_slice(&other[j..]);
            }
            // Insert a chunk of another input.
            9 if !corpus.is_empty() => {
                let other = &corpus[rng.below(corpus.len())];
                if !other.is_empty() {
                    let j = rng.below(other.len());
                    let n = 1 + rng.below((other.len() - j).min(64));
                    let i = rng.below(len + 1);
                    out.splice(i..i, other[j..j + n].iter().copied());
                }
            }
            // Truncate.
            10 if len > 0 => out.truncate(rng.below(len)),
            // Swap two bytes.
            _ if len > 1 => {
                let (a, b) = (rng.below(len), rng.below(len));
                out.swap(a, b);
            }
            _ => out.push(rng.below(256) as u8),
        }
    }
    out.truncate(MAX_INPUT);
    out
}

fn replace_number(rng: &mut Rng, out: &mut Vec<u8>) {
    let starts: Vec<usize> = (0..out.len())
        .filter(|&i| out[i].is_ascii_digit() && (i == 0 || !out[i - 1].is_ascii_digit()))
        .collect();
    if starts.is_empty() {
        return;
    }
    let s = starts[rng.below(starts.len())];
    let e = (s..out.len())
        .find(|&i| !out[i].is_ascii_digit())
        .unwrap_or(out.len());
    let n = NUMBERS[rng.below(NUMBERS.len())];
    out.splice(s..e, n.iter().copied());
}

/// An input that made the target panic (an invariant broke, or the parser itself panicked).
#[derive(Clone, Debug)]
pub struct Crash {
    pub input: Vec<u8>,
    pub message: String,
}

/// What one run of one target did.
#[derive(Clone, Debug, Default)]
pub struct Report {
    pub executions: u64,
    pub elapsed: Duration,
    /// Distinct outcome labels seen (corpus replay included).
    pub outcomes: usize,
    /// Up to 1000 of them, for a look at what the target answered.
    pub sample: Vec<String>,
    /// Mutated inputs that earned a new outcome label, in the order found.
    pub new_inputs: Vec<Vec<u8>>,
    /// The slowest single execution, and its input's length.
    pub slowest: (Duration, usize),
    pub crash: Option<Crash>,
}

/// Runs the target on one input, turning a panic into a [`Crash`].
pub fn execute(target: &Target, input: &[u8]) -> Result<String, Crash> {
    catch_unwind(AssertUnwindSafe(|| (target.run)(input))).map_err(|payload| {
        let message = payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_string()))
            .unwrap_or_else(|| "panic with a non-string payload".into());
        Crash {
            input: input.to_vec(),
            message,
        }
    })
}

/// Replays `corpus`, then mutates it for `budget`, stopping at the first crash.
pub fn fuzz(target: &Target, corpus: &[Vec<u8>], budget: Duration, seed: u64) -> Report {
    let start = Instant::now();
    let mut report = Report::default();
    let mut labels: BTreeSet<String> = BTreeSet::new();
    let mut pool: Vec<Vec<u8>> = Vec::new();
    let mut run = |input: &[u8], report: &mut Report| -> Option<bool> {
        let t = Instant::now();
        let outcome = execute(target, input);
        let took = t.elapsed();
        report.executions += 1;
        if took > report.slowest.0 {
            report.slowest = (took, input.len());
        }
        match outcome {
            Ok(label) => Some(labels.insert(label)),
            Err(crash) => {
                report.crash = Some(crash);
                None
            }
        }
    };
    for input in corpus {
        if run(input, &mut report).is_none() {
            report.elapsed = start.elapsed();
            report.outcomes = labels.len();
            return report;
        }
        pool.push(input.clone());
    }
    if pool.is_empty() {
        pool.push(Vec::new());
    }
    let mut rng = Rng::new(seed);
    while start.elapsed() < budget {
        // Favour recent finds a little: they are where the search is getting somewhere.
        let base = if !report.new_inputs.is_empty() && rng.chance(4) {
            &report.new_inputs[rng.below(report.new_inputs.len())]
        } else {
            &pool[rng.below(pool.len())]
        };
        let input = mutate(&mut rng, base, &pool);
        match run(&input, &mut report) {
            None => break,
            Some(true) if report.new_inputs.len() + corpus.len() < MAX_ADMITTED => {
                report.new_inputs.push(input.clone());
                if pool.len() < MAX_CORPUS {
                    pool.push(input);
                }
            }
            Some(_) => {}
        }
    }
    report.elapsed = start.elapsed();
    report.outcomes = labels.len();
    report.sample = labels.into_iter().take(1000).collect();
    report
}
