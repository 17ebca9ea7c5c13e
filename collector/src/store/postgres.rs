//! The shared engine: PostgreSQL, for several collectors behind a load balancer (scale-out) or
//! an operated database instead of a file.
//!
//! Uses the synchronous `postgres` client (the agent already depends on it for database
//! scans). That client drives its own small tokio runtime and would panic ("Cannot start a
//! runtime from within a runtime") if called on a thread that is inside the collector's
//! runtime, so every call goes through [`off_runtime`]: `block_in_place` on a multi-thread
//! runtime, a short-lived scoped thread on a current-thread runtime, a plain call elsewhere
//! (the `spawn_blocking` threads the collector uses for the store).
//!
//! Prepared statements are cached by their text, so a batch's multi-row insert is parsed and
//! planned once per connection. TLS is used when the URL asks for it (`sslmode=require`,
//! `verify-ca` or `verify-full` with `sslrootcert=CA.pem`; see [`custos_pg`]), as for the
//! agent's database scans.

use super::db::{Backend, Dialect, Row, Value};
use super::error::StoreError;
use bytes::BytesMut;
use postgres::types::{IsNull, ToSql, Type, to_sql_checked};
use postgres::{Client, Statement};
use std::collections::HashMap;
use std::error::Error;

/// Runs `f` where the synchronous client may block: never on a thread inside a tokio runtime.
pub fn off_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current().map(|h| h.runtime_flavor()) {
        // `block_in_place` cannot run on a current-thread runtime: use a thread of our own.
        Ok(RuntimeFlavor::CurrentThread) => std::thread::scope(|s| s.spawn(f).join().unwrap_or_else(|p| std::panic::resume_unwind(p))),
        // On a worker it hands the worker's tasks to another thread and leaves the runtime
        // context for `f`; on a blocking-pool or plain thread it simply calls `f`.
        Ok(_) => tokio::task::block_in_place(f),
        Err(_) => f(),
    }
}

/// A PostgreSQL connection.
pub struct PostgresDb {
    client: Option<Client>,
    statements: HashMap<String, Statement>,
}

impl PostgresDb {
    /// Connects to `url` (`postgres://user:password@host:port/db?options=…&sslmode=…`, or libpq
    /// key=value form). Errors never repeat the URL, which may hold a password.
    pub fn connect(url: &str) -> Result<PostgresDb, StoreError> {
        let target = custos_pg::Target::parse(url).map_err(|e| StoreError::Config(format!("the `store` PostgreSQL URL: {e}")))?;
        let client = off_runtime(move || target.connect()).map_err(|e| {
            StoreError::Config(format!("cannot connect to the PostgreSQL store: {e}; check host, port, user, password, database and sslmode in `store`"))
        })?;
        Ok(PostgresDb { client: Some(client), statements: HashMap::new() })
    }

    fn client(&mut self) -> &mut Client {
        // Only `Drop` takes the client out.
        self.client.as_mut().unwrap_or_else(|| unreachable!("the PostgreSQL client is present until drop"))
    }

    fn statement(&mut self, sql: &str) -> Result<Statement, StoreError> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let client = self.client();
        let st = off_runtime(|| client.prepare(sql))?;
        self.statements.insert(sql.to_string(), st.clone());
        Ok(st)
    }
}

impl Drop for PostgresDb {
    fn drop(&mut self) {
        // Closing the client blocks on its runtime too.
        if let Some(c) = self.client.take() {
            off_runtime(move || drop(c));
        }
    }
}

fn params(values: &[Value]) -> Vec<&(dyn ToSql + Sync)> {
    values.iter().map(|v| v as &(dyn ToSql + Sync)).collect()
}

fn row(r: &postgres::Row) -> Result<Row, StoreError> {
    let mut out = Vec::with_capacity(r.len());
    for (i, c) in r.columns().iter().enumerate() {
        let t = c.type_();
        let v = if *t == Type::INT8 {
            r.try_get::<_, Option<i64>>(i)?.map(Value::Int)
        } else if *t == Type::INT4 {
            r.try_get::<_, Option<i32>>(i)?.map(|v| Value::Int(v.into()))
        } else if *t == Type::INT2 {
            r.try_get::<_, Option<i16>>(i)?.map(|v| Value::Int(v.into()))
        } else if *t == Type::BOOL {
            r.try_get::<_, Option<bool>>(i)?.map(|v| Value::Int(v.into()))
        } else if *t == Type::FLOAT8 {
            r.try_get::<_, Option<f64>>(i)?.map(Value::Real)
        } else if *t == Type::FLOAT4 {
            r.try_get::<_, Option<f32>>(i)?.map(|v| Value::Real(v.into()))
        } else if *t == Type::BYTEA {
            r.try_get::<_, Option<Vec<u8>>>(i)?.map(Value::Blob)
        } else if [Type::TEXT, Type::VARCHAR, Type::BPCHAR, Type::NAME].contains(t) {
            r.try_get::<_, Option<String>>(i)?.map(Value::Text)
        } else {
            return Err(StoreError::Type(format!("column `{}` has type {t}, which the store does not read; CAST it to BIGINT or TEXT", c.name())));
        };
        out.push(v.unwrap_or(Value::Null));
    }
    Ok(Row(out))
}

impl Backend for PostgresDb {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn execute(&mut self, sql: &str, values: &[Value]) -> Result<u64, StoreError> {
        let st = self.statement(sql)?;
        let client = self.client();
        Ok(off_runtime(|| client.execute(&st, &params(values)))?)
    }

    fn query(&mut self, sql: &str, values: &[Value]) -> Result<Vec<Row>, StoreError> {
        let st = self.statement(sql)?;
        let client = self.client();
        let rows = off_runtime(|| client.query(&st, &params(values)))?;
        rows.iter().map(row).collect()
    }

    fn batch(&mut self, sql: &str) -> Result<(), StoreError> {
        let client = self.client();
        Ok(off_runtime(|| client.batch_execute(sql))?)
    }

    fn begin(&mut self) -> Result<(), StoreError> {
        self.batch("BEGIN")
    }

    fn commit(&mut self) -> Result<(), StoreError> {
        self.batch("COMMIT")
    }

    fn rollback(&mut self) {
        let _ = self.batch("ROLLBACK");
    }

    fn is_broken(&self) -> bool {
        self.client.as_ref().is_none_or(Client::is_closed)
    }
}

/// An array parameter, encoded as the array type PostgreSQL expects (the SQL casts it, e.g.
/// `$1::bigint[]`), with NULL elements where the values are NULL.
fn array_to_sql(items: &[Value], ty: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
    let postgres::types::Kind::Array(member) = ty.kind() else { return Err(format!("an array cannot be sent as {ty}").into()) };
    let mismatch = |v: &Value| -> Box<dyn Error + Sync + Send> { format!("{v:?} in an array of {member}").into() };
    match *member {
        Type::INT8 => items
            .iter()
            .map(|v| match v {
                Value::Null => Ok(None),
                Value::Int(i) => Ok(Some(*i)),
                v => Err(mismatch(v)),
            })
            .collect::<Result<Vec<_>, _>>()?
            .to_sql(ty, out),
        Type::FLOAT8 => items
            .iter()
            .map(|v| match v {
                Value::Null => Ok(None),
                Value::Real(x) => Ok(Some(*x)),
                Value::Int(i) => Ok(Some(*i as f64)),
                v => Err(mismatch(v)),
            })
            .collect::<Result<Vec<_>, _>>()?
            .to_sql(ty, out),
        Type::TEXT => items
            .iter()
            .map(|v| match v {
                Value::Null => Ok(None),
                Value::Text(t) => Ok(Some(t.as_str())),
                v => Err(mismatch(v)),
            })
            .collect::<Result<Vec<_>, _>>()?
            .to_sql(ty, out),
        Type::BYTEA => items
            .iter()
            .map(|v| match v {
                Value::Null => Ok(None),
                Value::Blob(b) => Ok(Some(b.as_slice())),
                v => Err(mismatch(v)),
            })
            .collect::<Result<Vec<_>, _>>()?
            .to_sql(ty, out),
        _ => Err(format!("the store sends no array of {member}").into()),
    }
}

/// Values adapt to the type PostgreSQL inferred for each parameter, so the store can pass an
/// `i64` where a column or function wants `integer` (e.g. `substr`'s length) or a boolean.
impl ToSql for Value {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(v) => match *ty {
                Type::INT8 => v.to_sql(ty, out),
                Type::INT4 => i32::try_from(*v)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*v)?.to_sql(ty, out),
                Type::BOOL => (*v != 0).to_sql(ty, out),
                Type::FLOAT8 => (*v as f64).to_sql(ty, out),
                Type::TEXT | Type::VARCHAR => v.to_string().to_sql(ty, out),
                _ => Err(format!("an integer cannot be sent as {ty}").into()),
            },
            Value::Real(v) => match *ty {
                Type::FLOAT4 => (*v as f32).to_sql(ty, out),
                _ => v.to_sql(ty, out),
            },
            Value::Text(v) => v.to_sql(ty, out),
            Value::Blob(v) => v.to_sql(ty, out),
            Value::Array(items) => array_to_sql(items, ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        // Checked per value in `to_sql`, which names the mismatch.
        true
    }

    to_sql_checked!();
}
