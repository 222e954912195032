//! The label selector query syntax: a lexer and a recursive-descent parser that follow
//! `labels.Parse`, including its error messages.

use std::collections::BTreeSet;

use super::label::{Op, Requirement};
use super::{SelectorError, syntax};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    End,
    Ident(String),
    Not,
    NotEquals,
    Equals,
    DoubleEquals,
    Greater,
    Less,
    In,
    NotIn,
    Open,
    Close,
    Comma,
}

impl Token {
    /// How the token reads in an error message.
    fn text(&self) -> &str {
        match self {
            Token::End => "",
            Token::Ident(s) => s,
            Token::Not => "!",
            Token::NotEquals => "!=",
            Token::Equals => "=",
            Token::DoubleEquals => "==",
            Token::Greater => ">",
            Token::Less => "<",
            Token::In => "in",
            Token::NotIn => "notin",
            Token::Open => "(",
            Token::Close => ")",
            Token::Comma => ",",
        }
    }
}

fn is_special(c: char) -> bool {
    matches!(c, '=' | '!' | '(' | ')' | ',' | '>' | '<')
}

fn lex(s: &str) -> Vec<Token> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let next = chars.get(i + 1).copied();
        let (tok, len) = match (c, next) {
            ('!', Some('=')) => (Token::NotEquals, 2),
            ('=', Some('=')) => (Token::DoubleEquals, 2),
            ('!', _) => (Token::Not, 1),
            ('=', _) => (Token::Equals, 1),
            ('>', _) => (Token::Greater, 1),
            ('<', _) => (Token::Less, 1),
            ('(', _) => (Token::Open, 1),
            (')', _) => (Token::Close, 1),
            (',', _) => (Token::Comma, 1),
            _ => {
                let start = i;
                let mut end = i;
                while end < chars.len() && !chars[end].is_whitespace() && !is_special(chars[end]) {
                    end += 1;
                }
                let word: String = chars[start..end].iter().collect();
                let tok = match word.as_str() {
                    "in" => Token::In,
                    "notin" => Token::NotIn,
                    _ => Token::Ident(word),
                };
                (tok, end - start)
            }
        };
        out.push(tok);
        i += len;
    }
    out
}

pub(super) struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser {
    pub(super) fn new(s: &str) -> Self {
        Self {
            tokens: lex(s),
            pos: 0,
        }
    }

    /// The next token; in value position `in`/`notin` are plain identifiers.
    fn peek(&self, values: bool) -> Token {
        let tok = self.tokens.get(self.pos).cloned().unwrap_or(Token::End);
        match tok {
            Token::In | Token::NotIn if values => Token::Ident(tok.text().to_string()),
            t => t,
        }
    }

    fn next(&mut self, values: bool) -> Token {
        let tok = self.peek(values);
        self.pos += 1;
        tok
    }

    pub(super) fn parse(&mut self) -> Result<Vec<Requirement>, SelectorError> {
        let mut out = Vec::new();
        loop {
            match self.peek(true) {
                Token::End => return Ok(out),
                Token::Ident(_) | Token::Not => {
                    let r = self
                        .requirement()
                        .map_err(|e| syntax(format!("unable to parse requirement: {e}")))?;
                    out.push(r);
                    match self.next(true) {
                        Token::End => return Ok(out),
                        Token::Comma => match self.peek(true) {
                            Token::Ident(_) | Token::Not => {}
                            t => {
                                return Err(syntax(format!(
                                    "found '{}', expected: identifier after ','",
                                    t.text()
                                )));
                            }
                        },
                        t => {
                            return Err(syntax(format!(
                                "found '{}', expected: ',' or 'end of string'",
                                t.text()
                            )));
                        }
                    }
                }
                t => {
                    return Err(syntax(format!(
                        "found '{}', expected: !, identifier, or 'end of string'",
                        t.text()
                    )));
                }
            }
        }
    }

    fn requirement(&mut self) -> Result<Requirement, SelectorError> {
        let mut negated = false;
        let mut tok = self.next(true);
        if tok == Token::Not {
            negated = true;
            tok = self.next(true);
            if !matches!(tok, Token::Ident(_)) {
                return Err(syntax(format!(
                    "found '{}', expected: identifier after '!'",
                    tok.text()
                )));
            }
        }
        let Token::Ident(key) = tok else {
            return Err(syntax(format!(
                "found '{}', expected: identifier",
                tok.text()
            )));
        };
        if negated {
            return Requirement::new(&key, Op::DoesNotExist, BTreeSet::new());
        }
        if matches!(self.peek(true), Token::End | Token::Comma) {
            return Requirement::new(&key, Op::Exists, BTreeSet::new());
        }
        let op = match self.next(false) {
            Token::Equals => Op::Equals,
            Token::DoubleEquals => Op::DoubleEquals,
            Token::NotEquals => Op::NotEquals,
            Token::In => Op::In,
            Token::NotIn => Op::NotIn,
            Token::Greater => Op::GreaterThan,
            Token::Less => Op::LessThan,
            t => {
                return Err(syntax(format!(
                    "found '{}', expected: in, notin, =, ==, !=, gt, lt",
                    t.text()
                )));
            }
        };
        let values = if matches!(op, Op::In | Op::NotIn) {
            self.value_list()?
        } else {
            BTreeSet::from([self.exact_value()?])
        };
        Requirement::new(&key, op, values)
    }

    /// `(a, b, c)`; empty entries are empty strings, `()` is one empty string.
    fn value_list(&mut self) -> Result<BTreeSet<String>, SelectorError> {
        let tok = self.next(true);
        if tok != Token::Open {
            return Err(syntax(format!("found '{}', expected: '('", tok.text())));
        }
        let mut values = BTreeSet::new();
        // The identifier since the last comma; an empty entry is the empty string.
        let mut current: Option<String> = None;
        loop {
            match self.next(true) {
                Token::Ident(v) if current.is_none() => current = Some(v),
                Token::Comma => {
                    values.insert(current.take().unwrap_or_default());
                }
                Token::Close => {
                    values.insert(current.take().unwrap_or_default());
                    return Ok(values);
                }
                t => {
                    return Err(syntax(format!(
                        "found '{}', expected: ',', ')' or identifier",
                        t.text()
                    )));
                }
            }
        }
    }

    /// The value after `=`, `==`, `!=`, `>` or `<`; nothing before `,` or the end is "".
    fn exact_value(&mut self) -> Result<String, SelectorError> {
        if matches!(self.peek(true), Token::End | Token::Comma) {
            return Ok(String::new());
        }
        match self.next(true) {
            Token::Ident(v) => Ok(v),
            t => Err(syntax(format!(
                "found '{}', expected: identifier",
                t.text()
            ))),
        }
    }
}
