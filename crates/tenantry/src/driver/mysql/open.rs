//! Pools on a MariaDB / MySQL server: the URL's database, or another database on the same
//! server; a tenant's database made and dropped.

use std::str::FromStr;

use sqlx::{Connection, MySql, MySqlConnection, Pool, mysql::MySqlConnectOptions};

use crate::driver::{
    ConnectError, Scheme, SqlText,
    open::{Container, ContainerError, PoolSettings, ServerUrl, pool_options},
    sealed::Open,
};

fn options(server: &ServerUrl) -> Result<MySqlConnectOptions, ConnectError> {
    let mut options = MySqlConnectOptions::from_str(&server.url)
        .map_err(|e| Scheme::unparsable(&server.url, e))?;
    if let Some(password) = &server.password {
        options = options.password(password);
    }
    Ok(options)
}

async fn connect(server: &ServerUrl) -> Result<MySqlConnection, ContainerError> {
    MySqlConnection::connect_with(&options(server)?)
        .await
        .map_err(|source| ContainerError::Server {
            what: "cannot connect".into(),
            source,
        })
}

impl Open for MySql {
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

    /// Exact comparisons by default in the new database (`utf8mb4_bin`), as in tenantry's
    /// own tables.
    async fn create_container(
        server: &ServerUrl,
        container: Container<'_>,
    ) -> Result<(), ContainerError> {
        let Container::Database(name) = container else {
            return Err(ContainerError::Unsupported(
                "schema placement needs PostgreSQL, not MariaDB / MySQL (give the tenant a \
                 database instead)"
                    .into(),
            ));
        };
        let mut conn = connect(server).await?;
        let what = container.to_string();
        let exists: Result<Option<i32>, sqlx::Error> =
            sqlx::query_scalar("SELECT 1 FROM information_schema.schemata WHERE schema_name = ?")
                .bind(name.as_str())
                .fetch_optional(&mut conn)
                .await;
        let done = match exists {
            Ok(Some(_)) => Err(ContainerError::Exists(what.clone())),
            Ok(None) => {
                let sql = SqlText::<Self>::new("CREATE DATABASE ")
                    .ident(name)
                    .push(" CHARACTER SET utf8mb4 COLLATE utf8mb4_bin");
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql.into_string()))
                    .execute(&mut conn)
                    .await
                    .map(drop)
                    .map_err(|source| match &source {
                        // ER_DB_CREATE_EXISTS: made by someone else since the check.
                        sqlx::Error::Database(db) if db.message().contains("exists") => {
                            ContainerError::Exists(what.clone())
                        }
                        _ => ContainerError::Server {
                            what: what.clone(),
                            source,
                        },
                    })
            }
            Err(source) => Err(ContainerError::Server { what, source }),
        };
        let _ = conn.close().await;
        done
    }

    async fn drop_container(
        server: &ServerUrl,
        container: Container<'_>,
    ) -> Result<(), ContainerError> {
        let Container::Database(name) = container else {
            return Ok(());
        };
        let mut conn = connect(server).await?;
        let sql = SqlText::<Self>::new("DROP DATABASE IF EXISTS ").ident(name);
        let done = sqlx::raw_sql(sqlx::AssertSqlSafe(sql.into_string()))
            .execute(&mut conn)
            .await;
        let _ = conn.close().await;
        done.map(drop).map_err(|source| ContainerError::Server {
            what: format!("cannot drop {container}"),
            source,
        })
    }
}
