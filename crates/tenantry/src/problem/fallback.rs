//! Problem answers for requests no route takes: axum's own 404 and 405 have empty bodies.

use http::{Method, Uri};

use super::{Problem, ProblemCode};

/// 404 `not_found` for a path no route matches, as an axum fallback.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use axum::{Router, routing::get};
/// use tenantry::problem;
/// use tower::ServiceExt;
///
/// let app = Router::new()
///     .route("/hello", get(|| async { "hi" }))
///     .fallback(problem::not_found)
///     .method_not_allowed_fallback(problem::method_not_allowed);
/// let res = app.clone().oneshot(http::Request::get("/nope").body(axum::body::Body::empty()).unwrap()).await.unwrap();
/// assert_eq!(res.status(), 404);
/// assert_eq!(res.headers()["content-type"], "application/problem+json");
/// let res = app.oneshot(http::Request::delete("/hello").body(axum::body::Body::empty()).unwrap()).await.unwrap();
/// assert_eq!(res.status(), 405);
/// assert_eq!(res.headers()["allow"], "GET,HEAD");
/// # });
/// ```
pub async fn not_found(method: Method, uri: Uri) -> Problem {
    Problem::new(
        ProblemCode::NotFound,
        format!("no route for {method} {}", uri.path()),
    )
    .with_instance(uri.path())
}

/// 405 `method_not_allowed` for a path whose routes take other methods, as axum's
/// `method_not_allowed_fallback` (axum adds the `Allow` header). See [`not_found`].
pub async fn method_not_allowed(method: Method, uri: Uri) -> Problem {
    Problem::new(
        ProblemCode::MethodNotAllowed,
        format!("{} does not take {method}", uri.path()),
    )
    .with_instance(uri.path())
}
