//! The generator as an `io::Read` of Kong JSON lines.

use crate::{write_kong_line, GenConfig, Generator};

/// The generated traffic as a byte stream of Kong JSON lines, for feeding the pipeline
/// directly (the embedded default of `gatewatch run`) without a file in between.
pub struct GeneratorReader {
    generator: Generator,
    buf: Vec<u8>,
    pos: usize,
    line: String,
}

impl GeneratorReader {
    /// A reader over the traffic of `cfg`.
    pub fn new(cfg: GenConfig) -> Self {
        GeneratorReader {
            generator: Generator::new(cfg),
            buf: Vec::new(),
            pos: 0,
            line: String::new(),
        }
    }
}

impl std::io::Read for GeneratorReader {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.pos >= self.buf.len() {
            self.buf.clear();
            self.pos = 0;
            // Refill with a few hundred lines at a time.
            for _ in 0..256 {
                let Some(r) = self.generator.next() else {
                    break;
                };
                self.line.clear();
                write_kong_line(&r, &mut self.line);
                self.buf.extend_from_slice(self.line.as_bytes());
                self.buf.push(b'\n');
            }
            if self.buf.is_empty() {
                return Ok(0);
            }
        }
        let n = out.len().min(self.buf.len() - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}
