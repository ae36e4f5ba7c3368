//! A table of flat rows, written as JSON Lines or Parquet from one schema, so
//! both files of a table hold the same rows and the same values.
//!
//! A column is a name (Zeek's where Zeek has the field, dots included), a
//! type and a line of documentation; every column may be null. The JSON
//! Lines form writes every column of every row, null included, so a
//! reader that infers the schema from the first rows sees them all.
//!
//! Memory: the JSON Lines writer holds one row; the Parquet writer holds the
//! rows of one row group, at most [`ROW_GROUP_ROWS`] rows or
//! [`ROW_GROUP_BYTES`] bytes of values, then writes them out.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::sync::Arc;

use parquet::basic::{Compression, LogicalType, Repetition, Type as Physical};
use parquet::data_type::{BoolType, ByteArray, ByteArrayType, DoubleType, Int64Type};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::Type;

use crate::report::json;

/// Rows a Parquet row group holds at most.
pub const ROW_GROUP_ROWS: usize = 64 * 1024;
/// Bytes of values a Parquet row group holds at most before it is written
/// (a table of long WebSocket messages fills it before the row count),
/// counted with the bookkeeping of each value. The writer holds about as
/// much again while it encodes a group.
pub const ROW_GROUP_BYTES: usize = 4 << 20;

/// Bytes a string value costs besides its text (its `ByteArray` and
/// allocation).
const STRING_OVERHEAD: usize = 48;

/// What a column holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ty {
    /// A signed integer (frame numbers, ports, byte counts: all below 2^63).
    Int,
    /// A float: Zeek's times (epoch seconds) and intervals (seconds).
    Float,
    Str,
    Bool,
    /// A list of strings (Zeek's `vector of string`).
    List,
}

impl Ty {
    /// The type's name in the README's schema tables.
    pub fn name(self) -> &'static str {
        match self {
            Ty::Int => "int",
            Ty::Float => "float",
            Ty::Str => "string",
            Ty::Bool => "bool",
            Ty::List => "list of string",
        }
    }
}

/// One column: its name, type and meaning.
pub struct Col {
    pub name: &'static str,
    pub ty: Ty,
    pub doc: &'static str,
}

/// One value of a row.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Cell {
    #[default]
    Null,
    Int(i64),
    Float(f64),
    Str(String),
    Bool(bool),
    List(Vec<String>),
}

impl From<u64> for Cell {
    fn from(v: u64) -> Self {
        Cell::Int(i64::try_from(v).unwrap_or(i64::MAX))
    }
}
impl From<u16> for Cell {
    fn from(v: u16) -> Self {
        Cell::Int(v.into())
    }
}
impl From<u32> for Cell {
    fn from(v: u32) -> Self {
        Cell::Int(v.into())
    }
}
impl From<u8> for Cell {
    fn from(v: u8) -> Self {
        Cell::Int(v.into())
    }
}
impl From<f64> for Cell {
    fn from(v: f64) -> Self {
        // JSON has no NaN or infinity; neither has a meaning here.
        if v.is_finite() {
            Cell::Float(v)
        } else {
            Cell::Null
        }
    }
}
impl From<bool> for Cell {
    fn from(v: bool) -> Self {
        Cell::Bool(v)
    }
}
impl From<String> for Cell {
    fn from(v: String) -> Self {
        Cell::Str(v)
    }
}
impl From<&str> for Cell {
    fn from(v: &str) -> Self {
        Cell::Str(v.to_owned())
    }
}
impl From<Vec<String>> for Cell {
    fn from(v: Vec<String>) -> Self {
        Cell::List(v)
    }
}
impl<T: Into<Cell>> From<Option<T>> for Cell {
    fn from(v: Option<T>) -> Self {
        v.map_or(Cell::Null, Into::into)
    }
}

/// The two forms a table is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Form {
    Jsonl,
    Parquet,
}

impl Form {
    pub fn extension(self) -> &'static str {
        match self {
            Form::Jsonl => "jsonl",
            Form::Parquet => "parquet",
        }
    }
}

/// A table being written to one file.
pub enum TableWriter {
    Jsonl(JsonlTable),
    Parquet(Box<ParquetTable>),
}

impl TableWriter {
    pub fn create(path: &Path, cols: &'static [Col], form: Form) -> io::Result<Self> {
        let file = File::create(path)?;
        Ok(match form {
            Form::Jsonl => TableWriter::Jsonl(JsonlTable {
                out: BufWriter::with_capacity(256 * 1024, file),
                cols,
                line: Vec::new(),
            }),
            Form::Parquet => TableWriter::Parquet(Box::new(ParquetTable::new(file, cols)?)),
        })
    }

    /// Writes one row: a value for each column, in the schema's order.
    pub fn row(&mut self, cells: Vec<Cell>) -> io::Result<()> {
        match self {
            TableWriter::Jsonl(t) => t.row(&cells),
            TableWriter::Parquet(t) => t.row(cells),
        }
    }

    /// Writes what is held and completes the file.
    pub fn finish(self) -> io::Result<()> {
        match self {
            TableWriter::Jsonl(mut t) => t.out.flush(),
            TableWriter::Parquet(t) => t.finish(),
        }
    }
}

pub struct JsonlTable {
    out: BufWriter<File>,
    cols: &'static [Col],
    /// The row being written: one write per row to the file's buffer.
    line: Vec<u8>,
}

impl JsonlTable {
    /// Strings are written as the JSON views write them, with what a
    /// terminal would act on escaped (a table may be read with `cat`).
    fn row(&mut self, cells: &[Cell]) -> io::Result<()> {
        debug_assert_eq!(cells.len(), self.cols.len());
        let l = &mut self.line;
        l.clear();
        l.push(b'{');
        for (i, (c, v)) in self.cols.iter().zip(cells).enumerate() {
            if i > 0 {
                l.push(b',');
            }
            l.push(b'"');
            l.extend_from_slice(c.name.as_bytes());
            l.extend_from_slice(b"\":");
            match v {
                Cell::Null => l.extend_from_slice(b"null"),
                Cell::Int(n) => serde_json::to_writer(&mut *l, n)?,
                Cell::Float(f) => serde_json::to_writer(&mut *l, f)?,
                Cell::Str(s) => json::write(&mut *l, s)?,
                Cell::Bool(b) => l.extend_from_slice(if *b { b"true" } else { b"false" }),
                Cell::List(v) => json::write(&mut *l, v)?,
            }
        }
        l.extend_from_slice(b"}\n");
        self.out.write_all(l)
    }
}

/// One column's values of the row group being gathered, with Parquet's
/// definition levels (and repetition levels for a list).
enum Values {
    Int(Vec<i64>),
    Float(Vec<f64>),
    Bytes(Vec<ByteArray>),
    Bool(Vec<bool>),
}

struct Column {
    values: Values,
    def: Vec<i16>,
    rep: Vec<i16>,
}

pub struct ParquetTable {
    writer: SerializedFileWriter<BufWriter<File>>,
    cols: &'static [Col],
    columns: Vec<Column>,
    rows: usize,
    bytes: usize,
}

fn perr(e: parquet::errors::ParquetError) -> io::Error {
    io::Error::other(e)
}

/// The Parquet schema of a table: every column optional; strings are
/// UTF-8; a list is the standard three-level LIST of required strings.
fn schema(cols: &[Col]) -> parquet::errors::Result<Type> {
    let mut fields = Vec::with_capacity(cols.len());
    for c in cols {
        fn prim(
            name: &str,
            p: Physical,
            r: Repetition,
        ) -> parquet::schema::types::PrimitiveTypeBuilder<'_> {
            Type::primitive_type_builder(name, p).with_repetition(r)
        }
        let t = match c.ty {
            Ty::Int => prim(c.name, Physical::INT64, Repetition::OPTIONAL).build()?,
            Ty::Float => prim(c.name, Physical::DOUBLE, Repetition::OPTIONAL).build()?,
            Ty::Bool => prim(c.name, Physical::BOOLEAN, Repetition::OPTIONAL).build()?,
            Ty::Str => prim(c.name, Physical::BYTE_ARRAY, Repetition::OPTIONAL)
                .with_logical_type(Some(LogicalType::String))
                .build()?,
            Ty::List => {
                let element = prim("element", Physical::BYTE_ARRAY, Repetition::REQUIRED)
                    .with_logical_type(Some(LogicalType::String))
                    .build()?;
                let list = Type::group_type_builder("list")
                    .with_repetition(Repetition::REPEATED)
                    .with_fields(vec![Arc::new(element)])
                    .build()?;
                Type::group_type_builder(c.name)
                    .with_repetition(Repetition::OPTIONAL)
                    .with_logical_type(Some(LogicalType::List))
                    .with_fields(vec![Arc::new(list)])
                    .build()?
            }
        };
        fields.push(Arc::new(t));
    }
    Type::group_type_builder("schema")
        .with_fields(fields)
        .build()
}

impl ParquetTable {
    fn new(file: File, cols: &'static [Col]) -> io::Result<Self> {
        let schema = Arc::new(schema(cols).map_err(perr)?);
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            // The package version only, so the same capture gives the same bytes
            // from every build of a release.
            .set_created_by(format!("osiscope {}", env!("CARGO_PKG_VERSION")))
            // Statistics per column chunk, not per page: the page index is
            // written at the end of the file, so it would be held for every
            // page until then (memory that grows with the capture). Long
            // texts' minimum and maximum are cut.
            .set_statistics_enabled(EnabledStatistics::Chunk)
            .set_statistics_truncate_length(Some(64))
            .build();
        let writer = SerializedFileWriter::new(
            BufWriter::with_capacity(256 * 1024, file),
            schema,
            Arc::new(props),
        )
        .map_err(perr)?;
        let columns = cols
            .iter()
            .map(|c| Column {
                values: match c.ty {
                    Ty::Int => Values::Int(Vec::new()),
                    Ty::Float => Values::Float(Vec::new()),
                    Ty::Bool => Values::Bool(Vec::new()),
                    Ty::Str | Ty::List => Values::Bytes(Vec::new()),
                },
                def: Vec::new(),
                rep: Vec::new(),
            })
            .collect();
        Ok(ParquetTable {
            writer,
            cols,
            columns,
            rows: 0,
            bytes: 0,
        })
    }

    fn row(&mut self, cells: Vec<Cell>) -> io::Result<()> {
        debug_assert_eq!(cells.len(), self.cols.len());
        for ((col, c), cell) in self.columns.iter_mut().zip(self.cols).zip(cells) {
            if c.ty == Ty::List {
                // Levels: 0 null list, 1 empty list, 2 an element; the
                // repetition level is 1 for every element after the first.
                match cell {
                    Cell::List(items) if !items.is_empty() => {
                        for (i, s) in items.into_iter().enumerate() {
                            col.def.push(2);
                            col.rep.push(i16::from(i > 0));
                            self.bytes += s.len() + STRING_OVERHEAD;
                            if let Values::Bytes(v) = &mut col.values {
                                v.push(ByteArray::from(s.into_bytes()));
                            }
                        }
                    }
                    Cell::List(_) => {
                        col.def.push(1);
                        col.rep.push(0);
                    }
                    _ => {
                        col.def.push(0);
                        col.rep.push(0);
                    }
                }
                continue;
            }
            let present = match (&mut col.values, cell) {
                (Values::Int(v), Cell::Int(n)) => {
                    v.push(n);
                    true
                }
                (Values::Float(v), Cell::Float(f)) => {
                    v.push(f);
                    true
                }
                (Values::Bool(v), Cell::Bool(b)) => {
                    v.push(b);
                    true
                }
                (Values::Bytes(v), Cell::Str(s)) => {
                    self.bytes += s.len() + STRING_OVERHEAD;
                    v.push(ByteArray::from(s.into_bytes()));
                    true
                }
                (_, cell) => {
                    debug_assert_eq!(cell, Cell::Null, "column {}", c.name);
                    false
                }
            };
            col.def.push(i16::from(present));
            self.bytes += 10;
        }
        self.rows += 1;
        if self.rows >= ROW_GROUP_ROWS || self.bytes >= ROW_GROUP_BYTES {
            self.flush()?;
        }
        Ok(())
    }

    /// Writes the gathered rows as one row group.
    fn flush(&mut self) -> io::Result<()> {
        if self.rows == 0 {
            return Ok(());
        }
        let mut rg = self.writer.next_row_group().map_err(perr)?;
        let mut i = 0;
        while let Some(mut w) = rg.next_column().map_err(perr)? {
            let Some(col) = self.columns.get_mut(i) else {
                return Err(io::Error::other("more Parquet columns than the schema's"));
            };
            let def = Some(col.def.as_slice());
            let rep = (!col.rep.is_empty()).then_some(col.rep.as_slice());
            match &col.values {
                Values::Int(v) => w.typed::<Int64Type>().write_batch(v, def, rep),
                Values::Float(v) => w.typed::<DoubleType>().write_batch(v, def, rep),
                Values::Bool(v) => w.typed::<BoolType>().write_batch(v, def, rep),
                Values::Bytes(v) => w.typed::<ByteArrayType>().write_batch(v, def, rep),
            }
            .map_err(perr)?;
            w.close().map_err(perr)?;
            col.def.clear();
            col.rep.clear();
            match &mut col.values {
                Values::Int(v) => v.clear(),
                Values::Float(v) => v.clear(),
                Values::Bool(v) => v.clear(),
                Values::Bytes(v) => v.clear(),
            }
            i += 1;
        }
        rg.close().map_err(perr)?;
        self.rows = 0;
        self.bytes = 0;
        Ok(())
    }

    fn finish(mut self) -> io::Result<()> {
        self.flush()?;
        let mut out = self.writer.into_inner().map_err(perr)?;
        out.flush()
    }
}
