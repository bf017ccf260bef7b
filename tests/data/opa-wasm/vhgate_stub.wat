;; A hand-written stand-in for an OPA-compiled vhgate policy (OPA WASM ABI 1.2), for the
;; WasmEngine tests: no OPA compiler is available where vhgate is built. It implements just
;; enough of the ABI for opa-wasm: values are NUL-terminated JSON strings (so opa_json_parse and
;; opa_json_dump are the identity), a bump allocator, and the opa_eval fast path.
;;
;; Entrypoints (input is vhgate's PolicyInput as serde_json writes it, "action" first):
;;   0 vhgate/decision/decision          deny; every requested field withheld (doelmatigheid)
;;   1 vhgate/access/review_disclosures  true iff the action is review_disclosures
;;   2 vhgate/access/administer          true iff the action is administer
;;   3 vhgate/test/spin                  loops forever (the engine's fuel limit must stop it)
;; Assemble: wat2wasm vhgate_stub.wat -o vhgate_stub.wasm (or wasmtime's wat2wasm).
(module
  (import "env" "memory" (memory 2))
  (global (export "opa_wasm_abi_version") i32 (i32.const 1))
  (global (export "opa_wasm_abi_minor_version") i32 (i32.const 2))
  (global $heap (mut i32) (i32.const 8192))
  (data (i32.const 1024) "{}\00")
  (data (i32.const 1040) "{\"vhgate/decision/decision\":0,\"vhgate/access/review_disclosures\":1,\"vhgate/access/administer\":2,\"vhgate/test/spin\":3}\00")
  (data (i32.const 1536) "[{\"result\":{\"allow\":false,\"tier\":\"none\",\"allowed_fields\":[],\"withheld\":[")
  (data (i32.const 1792) "{\"field\":\"")
  (data (i32.const 1824) "\",\"principle\":\"doelmatigheid\",\"reason\":\"test policy: withheld\"}")
  (data (i32.const 1920) "],\"reasons\":[\"test policy: denied\"],\"obligations\":[]}}]\00")
  (data (i32.const 2048) "[{\"result\":true}]\00")
  (data (i32.const 2080) "[{\"result\":false}]\00")
  (data (i32.const 2112) "{\"name\":\"")

  ;; Grows memory so that [0, end) is addressable.
  (func $ensure (param $end i32)
    (local $have i32)
    (local.set $have (i32.mul (memory.size) (i32.const 65536)))
    (if (i32.gt_u (local.get $end) (local.get $have))
      (then
        (if (i32.eq
              (memory.grow (i32.add (i32.div_u (i32.sub (local.get $end) (local.get $have)) (i32.const 65536)) (i32.const 1)))
              (i32.const -1))
          (then unreachable)))))
  ;; Copies n bytes from src to dst; returns dst + n.
  (func $copy (param $dst i32) (param $src i32) (param $n i32) (result i32)
    (memory.copy (local.get $dst) (local.get $src) (local.get $n))
    (i32.add (local.get $dst) (local.get $n)))
  ;; Do the n bytes at a equal those at b?
  (func $equal (param $a i32) (param $b i32) (param $n i32) (result i32)
    (local $i i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (if (i32.ne (i32.load8_u (i32.add (local.get $a) (local.get $i)))
                    (i32.load8_u (i32.add (local.get $b) (local.get $i))))
          (then (return (i32.const 0))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (i32.const 1))

  (func (export "builtins") (result i32) (i32.const 1024))
  (func (export "entrypoints") (result i32) (i32.const 1040))
  (func (export "opa_json_parse") (param i32 i32) (result i32) (local.get 0))
  (func (export "opa_json_dump") (param i32) (result i32) (local.get 0))
  (func (export "opa_malloc") (param $n i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $heap))
    (global.set $heap (i32.add (global.get $heap) (local.get $n)))
    (call $ensure (global.get $heap))
    (local.get $p))
  (func (export "opa_free") (param i32))
  (func (export "opa_heap_ptr_get") (result i32) (global.get $heap))
  (func (export "opa_heap_ptr_set") (param i32) (global.set $heap (local.get 0)))
  ;; The context API of ABI 1.0/1.1 (unused with 1.2's opa_eval): stubs.
  (func (export "opa_eval_ctx_new") (result i32) (i32.const 0))
  (func (export "opa_eval_ctx_set_input") (param i32 i32))
  (func (export "opa_eval_ctx_set_data") (param i32 i32))
  (func (export "opa_eval_ctx_set_entrypoint") (param i32 i32))
  (func (export "opa_eval_ctx_get_result") (param i32) (result i32) (i32.const 2080))
  (func (export "eval") (param i32) (result i32) (i32.const 0))

  (func (export "opa_eval")
    (param $reserved i32) (param $ep i32) (param $data i32) (param $input i32) (param $len i32)
    (param $heap i32) (param $format i32) (result i32)
    (local $p i32) (local $i i32) (local $j i32) (local $end i32) (local $first i32)
    (if (i32.eq (local.get $ep) (i32.const 1))
      (then (return (select (i32.const 2048) (i32.const 2080)
        (i32.and (i32.gt_u (local.get $len) (i32.const 13))
                 (i32.eq (i32.load8_u offset=13 (local.get $input)) (i32.const 118)))))))
    (if (i32.eq (local.get $ep) (i32.const 2))
      (then (return (select (i32.const 2048) (i32.const 2080)
        (i32.and (i32.gt_u (local.get $len) (i32.const 11))
                 (i32.eq (i32.load8_u offset=11 (local.get $input)) (i32.const 97)))))))
    (if (i32.eq (local.get $ep) (i32.const 3))
      (then (loop $forever (br $forever))))
    (if (i32.ne (local.get $ep) (i32.const 0)) (then unreachable))
    ;; The decision: written after the input, at most 2 * input + 4 KiB long.
    (call $ensure (i32.add (local.get $heap) (i32.add (i32.shl (local.get $len) (i32.const 1)) (i32.const 4096))))
    (local.set $p (call $copy (local.get $heap) (i32.const 1536) (i32.const 72)))
    (local.set $first (i32.const 1))
    (local.set $end (i32.add (local.get $input) (local.get $len)))
    (local.set $i (local.get $input))
    (block $done
      (loop $scan
        (br_if $done (i32.gt_u (i32.add (local.get $i) (i32.const 9)) (local.get $end)))
        (if (call $equal (local.get $i) (i32.const 2112) (i32.const 9))
          (then
            (local.set $i (i32.add (local.get $i) (i32.const 9)))
            (local.set $j (local.get $i))
            (block $name_end
              (loop $name
                (br_if $name_end (i32.ge_u (local.get $j) (local.get $end)))
                (br_if $name_end (i32.eq (i32.load8_u (local.get $j)) (i32.const 34)))
                (local.set $j (i32.add (local.get $j) (i32.const 1)))
                (br $name)))
            (if (i32.eqz (local.get $first))
              (then
                (i32.store8 (local.get $p) (i32.const 44))
                (local.set $p (i32.add (local.get $p) (i32.const 1)))))
            (local.set $first (i32.const 0))
            (local.set $p (call $copy (local.get $p) (i32.const 1792) (i32.const 10)))
            (local.set $p (call $copy (local.get $p) (local.get $i) (i32.sub (local.get $j) (local.get $i))))
            (local.set $p (call $copy (local.get $p) (i32.const 1824) (i32.const 63)))
            (local.set $i (local.get $j)))
          (else (local.set $i (i32.add (local.get $i) (i32.const 1)))))
        (br $scan)))
    (drop (call $copy (local.get $p) (i32.const 1920) (i32.const 56)))
    (local.get $heap))
)
