//! The optional second engine (cargo feature `opa-wasm`): a policy compiled to WebAssembly by
//! OPA (`opa build -t wasm`), evaluated with the `opa-wasm` crate on wasmtime.
//!
//! The module is compiled once (cranelift) when the engine is prepared. A wasmtime `Store` is
//! not `Sync`, so evaluations do not share one: each takes a ready instance (store plus loaded
//! policy and data) from a small mutex-guarded pool, creating one when the pool is empty, and
//! returns it afterwards. An instance whose evaluation failed is dropped, never reused.
//!
//! opa-wasm only has an async API (wasmtime's async calls run the guest on a fiber). The
//! [`PolicyEngine`] trait is synchronous and is called from tokio handlers, so the futures are
//! driven to completion on the calling thread by [`block_on`], a minimal executor that parks
//! the thread while a future is pending. That cannot deadlock a tokio runtime: nothing in an
//! evaluation waits for the runtime (no I/O, timers or tasks; the host builtins opa-wasm links
//! complete immediately and its internal `tokio::sync::Mutex` is per instance, so it is never
//! contended), and tokio's own `block_on`, which panics inside a runtime, is not used. In
//! practice every future here completes on its first poll, exactly like a CPU-bound regorus
//! evaluation, which also runs on the calling worker.

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use opa_wasm::wasmtime::{Config, Engine, Module, Store, StoreLimits, StoreLimitsBuilder};
use opa_wasm::{DefaultContext, Policy, Runtime};

use super::{ConvenantSummary, Decision, PolicyEngine, PolicyError, PolicyInput, PolicySources};

/// Entrypoint that yields the decision object for `read_person` and `lookup`.
pub const DECISION_ENTRYPOINT: &str = "vhgate/decision/decision";
/// Entrypoint that says whether the requester may review the disclosure log.
pub const REVIEW_ENTRYPOINT: &str = "vhgate/access/review_disclosures";
/// Entrypoint that says whether the requester may administer the convenant.
pub const ADMIN_ENTRYPOINT: &str = "vhgate/access/administer";
/// The entrypoints a vhgate policy module must export.
pub const ENTRYPOINTS: [&str; 3] = [DECISION_ENTRYPOINT, REVIEW_ENTRYPOINT, ADMIN_ENTRYPOINT];

/// Fuel (roughly: WebAssembly instructions) one evaluation or instantiation may use, so a
/// looping policy fails closed instead of holding a worker; far above what a decision needs.
const FUEL: u64 = 2_000_000_000;
/// Largest linear memory of one instance.
const MAX_MEMORY: usize = 256 * 1024 * 1024;
/// Idle instances kept for reuse; more may exist while requests run, and are dropped after.
const MAX_IDLE: usize = 8;

/// One ready instance: its own store with the policy and the data loaded.
struct Instance {
    store: Store<StoreLimits>,
    policy: Policy<DefaultContext>,
}

/// OPA-compiled WASM [`PolicyEngine`].
pub struct WasmEngine {
    engine: Engine,
    module: Module,
    data: serde_json::Value,
    pool: Mutex<Vec<Instance>>,
    abi: String,
    revision: String,
    convenant: ConvenantSummary,
}

impl std::fmt::Debug for WasmEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasmEngine")
            .field("revision", &self.revision)
            .field("abi", &self.abi)
            .finish()
    }
}

/// Runs a future to completion on this thread (see the module documentation for why).
fn block_on<F: Future>(future: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
        fn wake_by_ref(self: &Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        match future.as_mut().poll(&mut cx) {
            Poll::Ready(out) => return out,
            Poll::Pending => std::thread::park(),
        }
    }
}

/// Deep-merges data documents (objects merge key by key, anything else: the later one wins),
/// as OPA merges the `data.json` files of a bundle into one `data` tree.
fn merge(into: &mut serde_json::Value, from: &serde_json::Value) {
    match (into, from) {
        (serde_json::Value::Object(a), serde_json::Value::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k.clone()).or_insert(serde_json::Value::Null), v);
            }
        }
        (into, from) => *into = from.clone(),
    }
}

/// The value of an OPA result set: `[]` is undefined (null here, like [`super::RegorusEngine`]
/// reports it), `[{"result": v}]` is `v`; anything else is refused.
fn result_value(set: serde_json::Value) -> Result<serde_json::Value, PolicyError> {
    let shape = || PolicyError::Eval(format!("unexpected OPA result set: {set}"));
    match set.as_array().map(Vec::as_slice) {
        Some([]) => Ok(serde_json::Value::Null),
        Some([one]) => one.get("result").cloned().ok_or_else(shape),
        _ => Err(shape()),
    }
}

/// Text of a panic payload, for the error that replaces it.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

impl WasmEngine {
    /// Compiles `wasm` once and checks that it is an OPA policy module exporting the vhgate
    /// entrypoints; `data` is the bundle's data (deep-merged) and `revision` the bundle's.
    pub fn prepare(
        wasm: &[u8],
        data: &[(String, serde_json::Value)],
        revision: String,
    ) -> Result<Self, PolicyError> {
        let mut engine = Self::prepare_generic(wasm, data, revision)?;
        engine.convenant = PolicySources {
            modules: Vec::new(),
            data: data.to_vec(),
        }
        .convenant()?;
        let instance = engine.instantiate()?;
        let exported = instance.policy.entrypoints();
        let missing: Vec<&str> = ENTRYPOINTS
            .into_iter()
            .filter(|e| !exported.contains(e))
            .collect();
        if !missing.is_empty() {
            return Err(PolicyError::Parse {
                path: "policy.wasm".into(),
                message: format!(
                    "the module lacks the entrypoint(s) {} (it exports {:?})",
                    missing.join(", "),
                    exported
                ),
            });
        }
        engine.give_back(instance);
        Ok(engine)
    }

    /// Like [`WasmEngine::prepare`] without requiring the vhgate entrypoints or a convenant:
    /// for evaluating any OPA-compiled module with [`WasmEngine::evaluate`] (the differential
    /// tests use it for third-party policies).
    pub fn prepare_generic(
        wasm: &[u8],
        data: &[(String, serde_json::Value)],
        revision: String,
    ) -> Result<Self, PolicyError> {
        let compile_error = |message: String| PolicyError::Parse {
            path: "policy.wasm".into(),
            message,
        };
        let mut config = Config::new();
        config.consume_fuel(true);
        let engine = Engine::new(&config).map_err(|e| compile_error(format!("{e:#}")))?;
        let module = catch_unwind(AssertUnwindSafe(|| Module::new(&engine, wasm)))
            .map_err(|p| compile_error(panic_message(p.as_ref())))?
            .map_err(|e| compile_error(format!("{e:#}")))?;
        let mut merged = serde_json::Value::Object(serde_json::Map::new());
        for (_, value) in data {
            merge(&mut merged, value);
        }
        let this = WasmEngine {
            engine,
            module,
            data: merged,
            pool: Mutex::new(Vec::new()),
            abi: String::new(),
            revision,
            // The generic use has no convenant; `prepare` requires and sets it.
            convenant: ConvenantSummary::default(),
        };
        let instance = this.instantiate()?;
        let abi = instance.policy.abi_version().to_string();
        this.give_back(instance);
        Ok(WasmEngine { abi, ..this })
    }

    /// The OPA WASM ABI version of the module (e.g. `1.2`).
    pub fn abi_version(&self) -> &str {
        &self.abi
    }

    /// A fresh instance: new store, policy instantiated, data loaded.
    fn instantiate(&self) -> Result<Instance, PolicyError> {
        let fail = |m: String| PolicyError::Eval(format!("instantiating policy.wasm: {m}"));
        let mut store = Store::new(
            &self.engine,
            StoreLimitsBuilder::new().memory_size(MAX_MEMORY).build(),
        );
        store.limiter(|limits| limits);
        store.set_fuel(FUEL).map_err(|e| fail(format!("{e:#}")))?;
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            block_on(async {
                let runtime = Runtime::new(&mut store, &self.module).await?;
                runtime.with_data(&mut store, &self.data).await
            })
        }));
        match outcome {
            Ok(Ok(policy)) => Ok(Instance { store, policy }),
            Ok(Err(e)) => Err(fail(format!("{e:#}"))),
            Err(p) => Err(fail(panic_message(p.as_ref()))),
        }
    }

    /// Returns an instance to the pool (unless enough are idle).
    fn give_back(&self, instance: Instance) {
        let mut pool = self.pool.lock().unwrap_or_else(|e| e.into_inner());
        if pool.len() < MAX_IDLE {
            pool.push(instance);
        }
    }

    /// Evaluates `entrypoint` (OPA's slash form, e.g. `vhgate/decision/decision`) with
    /// `input`: its value, or null when it is undefined (as [`super::RegorusEngine`] reports
    /// it). Never panics; any failure is a [`PolicyError`].
    pub fn evaluate<I: serde::Serialize>(
        &self,
        entrypoint: &str,
        input: &I,
    ) -> Result<serde_json::Value, PolicyError> {
        let idle = self.pool.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let mut instance = match idle {
            Some(instance) => instance,
            None => self.instantiate()?,
        };
        let fail = |m: String| PolicyError::Eval(format!("{entrypoint}: {m}"));
        instance
            .store
            .set_fuel(FUEL)
            .map_err(|e| fail(format!("{e:#}")))?;
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            block_on(instance.policy.evaluate::<_, serde_json::Value, _>(
                &mut instance.store,
                entrypoint,
                input,
            ))
        }));
        match outcome {
            Ok(Ok(set)) => {
                self.give_back(instance);
                result_value(set)
            }
            // The failed instance is dropped: its memory may be in any state.
            Ok(Err(e)) => Err(fail(format!("{e:#}"))),
            Err(p) => Err(fail(panic_message(p.as_ref()))),
        }
    }

    /// Idle instances in the pool (for tests).
    pub fn idle_instances(&self) -> usize {
        self.pool.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

impl PolicyEngine for WasmEngine {
    fn decide(&self, input: &PolicyInput) -> Result<Decision, PolicyError> {
        let out = self.evaluate(DECISION_ENTRYPOINT, input)?;
        if out.is_null() {
            return Err(PolicyError::Shape(format!(
                "{DECISION_ENTRYPOINT} is undefined"
            )));
        }
        let decision: Decision =
            serde_json::from_value(out).map_err(|e| PolicyError::Shape(e.to_string()))?;
        decision.validate(&input.fields)?;
        Ok(decision)
    }

    fn may_review_disclosures(&self, input: &PolicyInput) -> Result<bool, PolicyError> {
        // Undefined means no: default deny.
        Ok(self.evaluate(REVIEW_ENTRYPOINT, input)? == serde_json::Value::Bool(true))
    }

    fn may_administer(&self, input: &PolicyInput) -> Result<bool, PolicyError> {
        Ok(self.evaluate(ADMIN_ENTRYPOINT, input)? == serde_json::Value::Bool(true))
    }

    fn revision(&self) -> &str {
        &self.revision
    }

    fn convenant(&self) -> &ConvenantSummary {
        &self.convenant
    }
}
