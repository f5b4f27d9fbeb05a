//! The AWS calls several resource kinds make alike, written once per service. This floor is below
//! every kind: it imports none of them (a kind imports what it shares from here).

pub mod events;
