//! `Upstash-Retry-Delay`: an arithmetic expression over `retried` (the retries so far) giving the
//! wait before the next attempt in milliseconds, e.g. `pow(2, retried) * 1000`. QStash allows
//! `+ - * /`, parentheses and `pow sqrt abs exp floor ceil round min max`; so does this.

use std::time::Duration;

/// Longest expression accepted (QStash's are one-liners); also bounds the parser's recursion.
const MAX_LEN: usize = 256;
const MAX_DEPTH: usize = 32;

/// A parsed expression, checked once at publish so a delivery never meets a bad one.
#[derive(Clone, Debug, PartialEq)]
pub struct RetryDelay(Expr);

#[derive(Clone, Debug, PartialEq)]
enum Expr {
    Number(f64),
    Retried,
    Neg(Box<Expr>),
    Binary(char, Box<Expr>, Box<Expr>),
    Call(Function, Vec<Expr>),
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Function {
    Pow,
    Sqrt,
    Abs,
    Exp,
    Floor,
    Ceil,
    Round,
    Min,
    Max,
}

impl Function {
    fn parse(name: &str) -> Option<(Self, usize)> {
        Some(match name {
            "pow" => (Function::Pow, 2),
            "sqrt" => (Function::Sqrt, 1),
            "abs" => (Function::Abs, 1),
            "exp" => (Function::Exp, 1),
            "floor" => (Function::Floor, 1),
            "ceil" => (Function::Ceil, 1),
            "round" => (Function::Round, 1),
            "min" => (Function::Min, 2),
            "max" => (Function::Max, 2),
            _ => return None,
        })
    }
}

impl RetryDelay {
    /// Why an expression is refused, in words for the publisher.
    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.len() > MAX_LEN {
            return Err(format!("Upstash-Retry-Delay is longer than {MAX_LEN} characters"));
        }
        let mut parser = Parser { chars: raw.chars().collect(), at: 0, depth: 0 };
        let expr = parser.expr()?;
        parser.skip_spaces();
        if parser.at < parser.chars.len() {
            return Err(format!("Upstash-Retry-Delay: unexpected '{}'", parser.chars[parser.at]));
        }
        Ok(Self(expr))
    }

    /// The wait after the `retried`-th retry; a negative or undefined (NaN) result waits not at all,
    /// and any result (infinity too) is capped at a day, as QStash caps its backoff.
    pub fn delay(&self, retried: i64) -> Duration {
        let ms = eval(&self.0, retried as f64);
        if ms.is_nan() || ms <= 0.0 {
            return Duration::ZERO;
        }
        Duration::from_millis(ms.min(86_400_000.0) as u64)
    }
}

fn eval(expr: &Expr, retried: f64) -> f64 {
    match expr {
        Expr::Number(n) => *n,
        Expr::Retried => retried,
        Expr::Neg(inner) => -eval(inner, retried),
        Expr::Binary(op, a, b) => {
            let (a, b) = (eval(a, retried), eval(b, retried));
            match op {
                '+' => a + b,
                '-' => a - b,
                '*' => a * b,
                _ => a / b,
            }
        }
        Expr::Call(function, args) => {
            let arg = |i: usize| eval(&args[i], retried);
            match function {
                Function::Pow => arg(0).powf(arg(1)),
                Function::Sqrt => arg(0).sqrt(),
                Function::Abs => arg(0).abs(),
                Function::Exp => arg(0).exp(),
                Function::Floor => arg(0).floor(),
                Function::Ceil => arg(0).ceil(),
                Function::Round => arg(0).round(),
                Function::Min => arg(0).min(arg(1)),
                Function::Max => arg(0).max(arg(1)),
            }
        }
    }
}

struct Parser {
    chars: Vec<char>,
    at: usize,
    depth: usize,
}

impl Parser {
    fn skip_spaces(&mut self) {
        while self.chars.get(self.at).is_some_and(|c| c.is_whitespace()) {
            self.at += 1;
        }
    }

    fn peek(&mut self) -> Option<char> {
        self.skip_spaces();
        self.chars.get(self.at).copied()
    }

    /// expr := term (('+' | '-') term)*
    fn expr(&mut self) -> Result<Expr, String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err("Upstash-Retry-Delay is nested too deeply".into());
        }
        let mut left = self.term()?;
        while let Some(op @ ('+' | '-')) = self.peek() {
            self.at += 1;
            left = Expr::Binary(op, Box::new(left), Box::new(self.term()?));
        }
        self.depth -= 1;
        Ok(left)
    }

    /// term := unary (('*' | '/') unary)*
    fn term(&mut self) -> Result<Expr, String> {
        let mut left = self.unary()?;
        while let Some(op @ ('*' | '/')) = self.peek() {
            self.at += 1;
            left = Expr::Binary(op, Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }

    /// unary := '-' unary | atom
    fn unary(&mut self) -> Result<Expr, String> {
        if self.peek() == Some('-') {
            self.at += 1;
            self.depth += 1;
            if self.depth > MAX_DEPTH {
                return Err("Upstash-Retry-Delay is nested too deeply".into());
            }
            let inner = self.unary()?;
            self.depth -= 1;
            return Ok(Expr::Neg(Box::new(inner)));
        }
        self.atom()
    }

    /// atom := number | 'retried' | function '(' expr (',' expr)* ')' | '(' expr ')'
    fn atom(&mut self) -> Result<Expr, String> {
        match self.peek() {
            Some('(') => {
                self.at += 1;
                let inner = self.expr()?;
                self.expect(')')?;
                Ok(inner)
            }
            Some(c) if c.is_ascii_digit() || c == '.' => {
                let start = self.at;
                while self.chars.get(self.at).is_some_and(|c| c.is_ascii_digit() || *c == '.') {
                    self.at += 1;
                }
                let text: String = self.chars[start..self.at].iter().collect();
                text.parse::<f64>().map(Expr::Number).map_err(|_| format!("Upstash-Retry-Delay: '{text}' is not a number"))
            }
            Some(c) if c.is_ascii_alphabetic() => {
                let start = self.at;
                while self.chars.get(self.at).is_some_and(|c| c.is_ascii_alphanumeric() || *c == '_') {
                    self.at += 1;
                }
                let name: String = self.chars[start..self.at].iter().collect();
                if name == "retried" {
                    return Ok(Expr::Retried);
                }
                let (function, arity) = Function::parse(&name).ok_or_else(|| format!("Upstash-Retry-Delay: unknown name '{name}'"))?;
                self.expect('(')?;
                let mut args = vec![self.expr()?];
                while self.peek() == Some(',') {
                    self.at += 1;
                    args.push(self.expr()?);
                }
                self.expect(')')?;
                if args.len() != arity {
                    return Err(format!("Upstash-Retry-Delay: {name} takes {arity} argument(s)"));
                }
                Ok(Expr::Call(function, args))
            }
            Some(c) => Err(format!("Upstash-Retry-Delay: unexpected '{c}'")),
            None => Err("Upstash-Retry-Delay ends too soon".into()),
        }
    }

    fn expect(&mut self, wanted: char) -> Result<(), String> {
        if self.peek() == Some(wanted) {
            self.at += 1;
            Ok(())
        } else {
            Err(format!("Upstash-Retry-Delay: expected '{wanted}'"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delay(expr: &str, retried: i64) -> u128 {
        RetryDelay::parse(expr).unwrap().delay(retried).as_millis()
    }

    #[test]
    fn evaluates_the_documented_examples() {
        assert_eq!(delay("1000", 3), 1000);
        assert_eq!(delay("1000 * (1 + retried)", 2), 3000);
        assert_eq!(delay("pow(2, retried) * 1000", 3), 8000);
        assert_eq!(delay("max(1000, pow(2, retried) * 100)", 1), 1000);
        assert_eq!(delay("max(1000, pow(2, retried) * 100)", 5), 3200);
        assert_eq!(delay("min(5000, exp(retried) * 10)", 0), 10);
        assert_eq!(delay("floor(sqrt(retried) * 1000) + abs(-5) - round(0.4) + ceil(0.1)", 4), 2006);
        assert_eq!(delay("10 / 4 * 4", 0), 10);
        assert_eq!(delay("-(-(7))", 0), 7);
    }

    #[test]
    fn results_stay_in_range() {
        assert_eq!(delay("0 - 1000", 0), 0);
        assert_eq!(delay("1 / 0", 0), 86_400_000);
        assert_eq!(delay("0 / 0", 0), 0);
        assert_eq!(delay("pow(10, 400)", 0), 86_400_000);
    }

    #[test]
    fn refuses_what_qstash_would() {
        for bad in ["", "retries * 2", "pow(2)", "max(1, 2, 3)", "1 +", "(1", "1)", "2 ** 3", "1.2.3", "system(1)", "1000ms"] {
            assert!(RetryDelay::parse(bad).is_err(), "{bad}");
        }
        assert!(RetryDelay::parse(&"(".repeat(100)).is_err(), "deep nesting is refused, not a stack overflow");
        assert!(RetryDelay::parse(&"-".repeat(200)).is_err());
        assert!(RetryDelay::parse(&"1+".repeat(200)).is_err(), "too long");
    }
}
