use std::{fmt, future::Future, sync::Arc};

use http::request::Parts;

use super::{Resolution, ResolveCx, ResolveFuture, TenantResolver};

type SyncHook = Arc<dyn Fn(&Parts) -> Resolution + Send + Sync>;
type AsyncHook =
    Arc<dyn Fn(&Parts) -> std::pin::Pin<Box<dyn Future<Output = Resolution> + Send>> + Send + Sync>;

#[derive(Clone)]
enum Hook {
    Sync(SyncHook),
    Async(AsyncHook),
}

/// The override hook: your own function decides, first in the default order.
///
/// Return `Ok(None)` to fall through to the next resolver, `Ok(Some(id))` to choose, or an
/// `Err(Rejection)` to refuse the request with that rejection (never a 500, never ignored).
/// Being your code, it is authoritative: its answer needs no separate principal.
///
/// ```
/// use tenantry::{Rejection, resolve::HookResolver};
///
/// // Sync: a fixed tenant for an internal admin host.
/// let admin = HookResolver::new(|head| {
///     Ok((head.uri.host() == Some("admin.internal")).then(|| "ops".to_owned()))
/// });
///
/// // Async: copy what you need out of the head, then await.
/// let lookup = HookResolver::new_async(|head| {
///     let key = head.headers.get("x-api-key").cloned();
///     async move {
///         match key {
///             None => Ok(None),
///             Some(k) if k == "k-acme" => Ok(Some("acme".to_owned())),
///             Some(_) => Err(Rejection::unauthenticated("unknown API key")),
///         }
///     }
/// });
/// ```
#[derive(Clone)]
pub struct HookResolver {
    name: &'static str,
    hook: Hook,
}

impl fmt::Debug for HookResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HookResolver")
            .field("name", &self.name)
            .finish()
    }
}

impl HookResolver {
    /// A synchronous hook.
    pub fn new<F>(hook: F) -> Self
    where
        F: Fn(&Parts) -> Resolution + Send + Sync + 'static,
    {
        Self {
            name: "override",
            hook: Hook::Sync(Arc::new(hook)),
        }
    }

    /// An asynchronous hook. The closure sees the head; the future it returns owns what it needs.
    pub fn new_async<F, Fut>(hook: F) -> Self
    where
        F: Fn(&Parts) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Resolution> + Send + 'static,
    {
        Self {
            name: "override",
            hook: Hook::Async(Arc::new(move |head| Box::pin(hook(head)))),
        }
    }

    /// Records `name` as `resolved_by` instead of `override`.
    pub fn named(mut self, name: &'static str) -> Self {
        self.name = name;
        self
    }
}

impl TenantResolver for HookResolver {
    fn name(&self) -> &'static str {
        self.name
    }

    fn resolve<'a>(&'a self, cx: &'a mut ResolveCx<'_>) -> ResolveFuture<'a> {
        match &self.hook {
            Hook::Sync(f) => ResolveFuture::ready(f(cx.head())),
            Hook::Async(f) => ResolveFuture::Boxed(f(cx.head())),
        }
    }

    fn authoritative(&self) -> bool {
        true
    }

    fn is_immediate(&self) -> bool {
        matches!(self.hook, Hook::Sync(_))
    }
}
