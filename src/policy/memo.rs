//! The decision memo: decisions keyed on the exact projection of the input that the decision
//! reads ([`super::footprint`]), plus the value of the budget rule, the one rule allowed to
//! read the per-request budget count. It lives inside one prepared engine, so a policy swap
//! drops it with the engine.
//!
//! Bounded by two generations: inserts go to the young map; when it is full the old map is
//! dropped and the young one becomes old. A hit in the old map is copied to the young one, so
//! what is in use stays.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::Decision;

/// Decisions keyed on their input projection (serialised JSON bytes).
pub(crate) struct DecisionMemo {
    generations: Mutex<Generations>,
    capacity: usize,
}

#[derive(Default)]
struct Generations {
    young: HashMap<Box<[u8]>, Arc<Decision>, foldhash::fast::RandomState>,
    old: HashMap<Box<[u8]>, Arc<Decision>, foldhash::fast::RandomState>,
}

impl DecisionMemo {
    /// A memo holding up to about `2 × capacity` decisions.
    pub(crate) fn new(capacity: usize) -> DecisionMemo {
        DecisionMemo {
            generations: Mutex::new(Generations::default()),
            capacity: capacity.max(1),
        }
    }

    /// The decision memoised for `key`, if any.
    pub(crate) fn get(&self, key: &[u8]) -> Option<Arc<Decision>> {
        let mut g = self.generations.lock().ok()?;
        if let Some(d) = g.young.get(key) {
            return Some(d.clone());
        }
        let d = g.old.remove(key)?;
        Self::insert_young(&mut g, self.capacity, key.into(), d.clone());
        Some(d)
    }

    /// Remembers `decision` for `key`.
    pub(crate) fn insert(&self, key: Vec<u8>, decision: Arc<Decision>) {
        if let Ok(mut g) = self.generations.lock() {
            Self::insert_young(&mut g, self.capacity, key.into_boxed_slice(), decision);
        }
    }

    fn insert_young(g: &mut Generations, capacity: usize, key: Box<[u8]>, d: Arc<Decision>) {
        if g.young.len() >= capacity {
            g.old = std::mem::take(&mut g.young);
        }
        g.young.insert(key, d);
    }

    /// Decisions held (both generations).
    pub(crate) fn len(&self) -> usize {
        self.generations
            .lock()
            .map(|g| g.young.len() + g.old.len())
            .unwrap_or(0)
    }
}

/// A struct serialised as JSON member by member: each top-level field's value in `json`, so a
/// key can be made of some members without parsing the whole document back.
pub(crate) struct Members {
    json: Vec<u8>,
    members: Vec<(&'static str, std::ops::Range<usize>)>,
}

impl Members {
    /// Serialises `value`, which must serialise as a struct (anything else is an error).
    pub(crate) fn of<T: serde::Serialize>(value: &T) -> Result<Members, serde_json::Error> {
        let mut members = Members {
            json: Vec::with_capacity(2048),
            members: Vec::with_capacity(8),
        };
        value.serialize(MemberSplitter(&mut members))?;
        Ok(members)
    }

    /// The JSON text of member `name`, if the struct serialised it.
    pub(crate) fn get(&self, name: &str) -> Option<&[u8]> {
        self.members
            .iter()
            .find(|(n, _)| *n == name)
            .and_then(|(_, range)| self.json.get(range.clone()))
    }

    /// The members as one JSON object (for the evaluator).
    pub(crate) fn object(&self, names: Option<&[String]>) -> String {
        let mut out = String::with_capacity(self.json.len() + 16 * self.members.len() + 2);
        out.push('{');
        for (name, range) in &self.members {
            if names.is_some_and(|n| !n.iter().any(|k| k == name)) {
                continue;
            }
            if out.len() > 1 {
                out.push(',');
            }
            // Field names are Rust identifiers (or serde renames of them): no escaping needed.
            out.push('"');
            out.push_str(name);
            out.push_str("\":");
            out.push_str(std::str::from_utf8(&self.json[range.clone()]).unwrap_or("null"));
        }
        out.push('}');
        out
    }
}

struct MemberSplitter<'a>(&'a mut Members);

struct MemberFields<'a>(&'a mut Members);

fn not_a_struct() -> serde_json::Error {
    serde::ser::Error::custom("the policy input must serialise as a struct")
}

impl serde::ser::SerializeStruct for MemberFields<'_> {
    type Ok = ();
    type Error = serde_json::Error;

    fn serialize_field<T: ?Sized + serde::Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Self::Error> {
        let start = self.0.json.len();
        serde_json::to_writer(&mut self.0.json, value)?;
        let end = self.0.json.len();
        self.0.members.push((key, start..end));
        Ok(())
    }

    fn end(self) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// Every method but `serialize_struct` refuses: only a struct's top level is split.
macro_rules! refuse {
    ($($name:ident($($arg:ty),*)),* $(,)?) => {
        $(fn $name(self, $(_: $arg),*) -> Result<(), serde_json::Error> { Err(not_a_struct()) })*
    };
}

impl<'a> serde::Serializer for MemberSplitter<'a> {
    type Ok = ();
    type Error = serde_json::Error;
    type SerializeSeq = serde::ser::Impossible<(), serde_json::Error>;
    type SerializeTuple = serde::ser::Impossible<(), serde_json::Error>;
    type SerializeTupleStruct = serde::ser::Impossible<(), serde_json::Error>;
    type SerializeTupleVariant = serde::ser::Impossible<(), serde_json::Error>;
    type SerializeMap = serde::ser::Impossible<(), serde_json::Error>;
    type SerializeStruct = MemberFields<'a>;
    type SerializeStructVariant = serde::ser::Impossible<(), serde_json::Error>;

    refuse!(
        serialize_bool(bool),
        serialize_i8(i8),
        serialize_i16(i16),
        serialize_i32(i32),
        serialize_i64(i64),
        serialize_u8(u8),
        serialize_u16(u16),
        serialize_u32(u32),
        serialize_u64(u64),
        serialize_f32(f32),
        serialize_f64(f64),
        serialize_char(char),
        serialize_str(&str),
        serialize_bytes(&[u8]),
        serialize_none(),
        serialize_unit(),
        serialize_unit_struct(&'static str),
        serialize_unit_variant(&'static str, u32, &'static str),
    );

    fn serialize_some<T: ?Sized + serde::Serialize>(self, _: &T) -> Result<(), Self::Error> {
        Err(not_a_struct())
    }

    fn serialize_newtype_struct<T: ?Sized + serde::Serialize>(
        self,
        _: &'static str,
        _: &T,
    ) -> Result<(), Self::Error> {
        Err(not_a_struct())
    }

    fn serialize_newtype_variant<T: ?Sized + serde::Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), Self::Error> {
        Err(not_a_struct())
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Self::Error> {
        Err(not_a_struct())
    }

    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Self::Error> {
        Err(not_a_struct())
    }

    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, Self::Error> {
        Err(not_a_struct())
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Self::Error> {
        Err(not_a_struct())
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Self::Error> {
        Err(not_a_struct())
    }

    fn serialize_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStruct, Self::Error> {
        Ok(MemberFields(self.0))
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Self::Error> {
        Err(not_a_struct())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The split members, put back together, are the document serde_json writes.
    #[test]
    fn members_reassemble_to_the_serde_json_document() {
        let inputs = crate::policy::differential::generated_inputs(
            &serde_json::json!({"convenant": {"partner_types": {"politie": {"daily_budget": 5}},
                "roles": {"professional": {}}, "purposes": {"casusoverleg": {}},
                "categories": {"overig": {}}, "leefgebieden": ["wonen"], "region": "r"}}),
            7,
            300,
        );
        let mut typed = 0;
        for raw in inputs {
            let Ok(input) = serde_json::from_value::<crate::policy::PolicyInput>(raw) else {
                continue;
            };
            typed += 1;
            let members = Members::of(&input).expect("split");
            let whole: serde_json::Value = serde_json::to_value(&input).expect("json");
            let again: serde_json::Value =
                serde_json::from_str(&members.object(None)).expect("reassembled");
            assert_eq!(whole, again);
            assert_eq!(
                members
                    .get("requester")
                    .map(|b| serde_json::from_slice::<serde_json::Value>(b).expect("member")),
                whole.get("requester").cloned()
            );
            assert!(members.get("budget").is_some() && members.get("nothing").is_none());
        }
        assert!(typed > 200);
    }
}
