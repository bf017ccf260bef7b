//! One entry point compiled for regorus's bytecode VM (RVM). The interpreter stays the
//! reference: an entry point runs on the RVM only after the self-check in
//! [`super::regorus_engine`] found the two equal, and any RVM error (an unsupported construct,
//! the instruction limit) falls back to the interpreter rather than to an answer.

use std::sync::{Arc, Mutex};

use regorus::languages::rego::compiler::Compiler;
use regorus::rvm::{Program, RegoVM};
use regorus::{CompiledPolicy, Value};

use super::PolicyError;

/// Instructions one evaluation may run (regorus's default of 25,000 is about 150 fields).
const MAX_INSTRUCTIONS: usize = 2_000_000;

/// VMs kept per entry point for reuse (a VM holds its register windows between runs).
const POOL: usize = 16;

/// An entry point compiled to RVM bytecode, with a pool of VMs that hold the program and data.
pub(crate) struct RvmEntry {
    program: Arc<Program>,
    data: Value,
    pool: Mutex<Vec<RegoVM>>,
}

impl RvmEntry {
    /// Compiles `rule` of the compiled policy; `data` is the engine's data document.
    pub(crate) fn compile(
        policy: &CompiledPolicy,
        rule: &str,
        data: &Value,
    ) -> Result<RvmEntry, PolicyError> {
        let program =
            Compiler::compile_from_policy(policy, &[rule]).map_err(|e| PolicyError::Parse {
                path: rule.to_string(),
                message: format!("RVM compilation: {e}"),
            })?;
        let entry = RvmEntry {
            program,
            data: data.clone(),
            pool: Mutex::new(Vec::new()),
        };
        // Fails here, at load, when the data conflicts with the program's rules.
        let vm = entry.new_vm()?;
        entry.release(vm);
        Ok(entry)
    }

    fn new_vm(&self) -> Result<RegoVM, PolicyError> {
        let mut vm = RegoVM::new();
        vm.load_program(self.program.clone());
        vm.set_max_instructions(MAX_INSTRUCTIONS);
        vm.set_data(self.data.clone())
            .map_err(|e| PolicyError::Eval(format!("RVM data: {e}")))?;
        Ok(vm)
    }

    fn release(&self, vm: RegoVM) {
        if let Ok(mut pool) = self.pool.lock() {
            if pool.len() < POOL {
                pool.push(vm);
            }
        }
    }

    /// Evaluates the entry point on `input`; `Value::Undefined` when the rule is undefined.
    pub(crate) fn eval(&self, input: Value) -> Result<Value, PolicyError> {
        let pooled = self.pool.lock().ok().and_then(|mut pool| pool.pop());
        let mut vm = match pooled {
            Some(vm) => vm,
            None => self.new_vm()?,
        };
        vm.set_input(input);
        let result = vm
            .execute()
            .map_err(|e| PolicyError::Eval(format!("RVM: {e}")));
        // A VM whose run failed is dropped, not reused.
        if result.is_ok() {
            vm.set_input(Value::Null);
            self.release(vm);
        }
        result
    }
}
