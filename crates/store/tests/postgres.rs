//! The store suite on PostgreSQL + PostGIS. Each test creates its own database
//! (`gridmap_test_<random>`) on the server named by `GRIDMAP_TEST_PG`
//! (default `postgres://postgres@127.0.0.1:5432/test`) and drops it afterwards, so tests run in
//! parallel and repeatedly. Without a reachable server with PostGIS the tests FAIL, unless
//! `GRIDMAP_SKIP_PG=1` is set (then they pass without running anything and say so).
mod suite;

use gridmap_store::Store;
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection};
use std::future::Future;
use std::str::FromStr;
use std::sync::Arc;

fn admin_url() -> String {
    std::env::var("GRIDMAP_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

async fn admin() -> sqlx::PgConnection {
    let url = admin_url();
    match PgConnectOptions::from_str(&url) {
        Ok(o) => o.connect().await.unwrap_or_else(|e| {
            panic!("PostgreSQL tests need a server at GRIDMAP_TEST_PG={url} (set GRIDMAP_SKIP_PG=1 to skip them): {e}")
        }),
        Err(e) => panic!("GRIDMAP_TEST_PG={url} is not a PostgreSQL URL: {e}"),
    }
}

async fn run<F, Fut>(name: &str, test: F)
where
    F: FnOnce(Arc<dyn Store>) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    if std::env::var("GRIDMAP_SKIP_PG").is_ok_and(|v| v == "1") {
        eprintln!("{name}: skipped (GRIDMAP_SKIP_PG=1)");
        return;
    }
    let db = format!(
        "gridmap_test_{}_{:08x}",
        name.chars().take(30).collect::<String>(),
        fastrand::u32(..)
    );
    let mut conn = admin().await;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{db}\"")))
        .execute(&mut conn)
        .await
        .expect("CREATE DATABASE");
    let base = PgConnectOptions::from_str(&admin_url())
        .expect("url")
        .database(&db);
    let url = base.to_url_lossy().to_string();
    let outcome = match gridmap_store::open(&url).await {
        Ok(store) => {
            assert_eq!(store.backend(), "postgres");
            // Run on its own task so a failed assertion still lets us drop the database.
            let r = tokio::spawn(test(store.clone())).await;
            store.close().await;
            r.map_err(|e| e.into_panic())
        }
        Err(e) => Err(Box::new(format!(
            "opening the PostGIS store failed (is postgresql-15-postgis-3 installed? set GRIDMAP_SKIP_PG=1 to skip): {e}"
        )) as Box<dyn std::any::Any + Send>),
    };
    let drop = sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS \"{db}\" WITH (FORCE)"
    )))
    .execute(&mut conn)
    .await;
    let _ = conn.close().await;
    if let Err(p) = outcome {
        std::panic::resume_unwind(p);
    }
    drop.expect("DROP DATABASE");
}

store_suite!(run);
