//! Pools on a PostgreSQL server: the URL's database, or another database on the same server;
//! a tenant's schema or database made and dropped.

use std::str::FromStr;

use sqlx::{Connection, PgConnection, Pool, Postgres, postgres::PgConnectOptions};

use crate::{
    data::{DataError, Ident},
    driver::{
        ConnectError, Scheme, SqlText,
        open::{Container, ContainerError, PoolSettings, ServerUrl, pool_options},
        sealed::Open,
    },
};

fn options(server: &ServerUrl) -> Result<PgConnectOptions, ConnectError> {
    let mut options =
        PgConnectOptions::from_str(&server.url).map_err(|e| Scheme::unparsable(&server.url, e))?;
    if let Some(password) = &server.password {
        options = options.password(password);
    }
    Ok(options)
}

/// Runs one statement on a connection of its own to the server's database.
async fn admin(server: &ServerUrl, what: String, sql: String) -> Result<(), ContainerError> {
    let mut conn = PgConnection::connect_with(&options(server)?)
        .await
        .map_err(|source| ContainerError::Server {
            what: "cannot connect".into(),
            source,
        })?;
    let done = sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .execute(&mut conn)
        .await;
    let _ = conn.close().await;
    match done {
        Ok(_) => Ok(()),
        // duplicate_schema, duplicate_database
        Err(sqlx::Error::Database(db))
            if matches!(db.code().as_deref(), Some("42P06" | "42P04")) =>
        {
            Err(ContainerError::Exists(what))
        }
        Err(source) => Err(ContainerError::Server { what, source }),
    }
}

impl Open for Postgres {
    fn open(
        server: &ServerUrl,
        database: Option<&str>,
        settings: &PoolSettings,
    ) -> Result<Pool<Self>, ConnectError> {
        let mut options = options(server)?;
        if let Some(database) = database {
            options = options.database(database);
        }
        Ok(pool_options::<Self>(settings).connect_lazy_with(options))
    }

    async fn create_container(
        server: &ServerUrl,
        container: Container<'_>,
    ) -> Result<(), ContainerError> {
        let sql = match container {
            Container::Schema(name) => SqlText::<Self>::new("CREATE SCHEMA ").ident(name),
            Container::Database(name) => SqlText::<Self>::new("CREATE DATABASE ").ident(name),
        };
        admin(server, container.to_string(), sql.into_string()).await
    }

    /// `WITH (FORCE)` ends sessions still on a database being dropped (PostgreSQL 13+).
    async fn drop_container(
        server: &ServerUrl,
        container: Container<'_>,
    ) -> Result<(), ContainerError> {
        let sql = match container {
            Container::Schema(name) => SqlText::<Self>::new("DROP SCHEMA IF EXISTS ")
                .ident(name)
                .push(" CASCADE"),
            Container::Database(name) => SqlText::<Self>::new("DROP DATABASE IF EXISTS ")
                .ident(name)
                .push(" WITH (FORCE)"),
        };
        admin(
            server,
            format!("cannot drop {container}"),
            sql.into_string(),
        )
        .await
    }

    async fn set_local_search_path(
        conn: &mut PgConnection,
        schema: &Ident,
    ) -> Result<(), DataError> {
        let sql = SqlText::<Self>::new("SET LOCAL search_path TO ").ident(schema);
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.into_string()))
            .execute(conn)
            .await?;
        Ok(())
    }
}
