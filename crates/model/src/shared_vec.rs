//! [`SharedVec`]: a shared, copy-on-write vector — the storage of every [`crate::Dataset`] layer.
//!
//! Cloning a `SharedVec` (and so a `Dataset`) copies one pointer, not the features: a server holds
//! one copy of each feature however many snapshots, analysis sessions and scoped views refer to
//! it. Writing through `DerefMut` ([`std::sync::Arc::make_mut`]) copies the vector only when
//! another holder still shares it, so an edit applied to the newest state costs O(change) once
//! older readers have let go.
//!
//! ```
//! use gridmap_model::SharedVec;
//! let a: SharedVec<u32> = vec![1, 2, 3].into();
//! let mut b = a.clone();          // shares the vector
//! b.push(4);                      // copies it, then appends
//! assert_eq!((a.len(), b.len()), (3, 4));
//! assert!(!a.shares_with(&b));
//! ```
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

/// A copy-on-write `Vec<T>` behind an [`Arc`]. Reads deref to the vector (and so to a slice).
#[derive(PartialEq)]
pub struct SharedVec<T>(Arc<Vec<T>>);

impl<T> SharedVec<T> {
    pub fn new(v: Vec<T>) -> Self {
        Self(Arc::new(v))
    }
    /// Whether two layers are the same allocation (a clone not written to since).
    pub fn shares_with(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
    /// The vector, copied only when shared.
    pub fn into_vec(self) -> Vec<T>
    where
        T: Clone,
    {
        Arc::try_unwrap(self.0).unwrap_or_else(|a| (*a).clone())
    }
}

impl<T: PartialEq> PartialEq<Vec<T>> for SharedVec<T> {
    fn eq(&self, other: &Vec<T>) -> bool {
        *self.0 == *other
    }
}

impl<T: PartialEq> PartialEq<SharedVec<T>> for Vec<T> {
    fn eq(&self, other: &SharedVec<T>) -> bool {
        *self == *other.0
    }
}

impl<T> Clone for SharedVec<T> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

impl<T> Default for SharedVec<T> {
    fn default() -> Self {
        Self(Arc::new(Vec::new()))
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for SharedVec<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl<T> Deref for SharedVec<T> {
    type Target = Vec<T>;
    fn deref(&self) -> &Vec<T> {
        &self.0
    }
}

impl<T: Clone> DerefMut for SharedVec<T> {
    fn deref_mut(&mut self) -> &mut Vec<T> {
        Arc::make_mut(&mut self.0)
    }
}

impl<T> From<Vec<T>> for SharedVec<T> {
    fn from(v: Vec<T>) -> Self {
        Self::new(v)
    }
}

impl<T> FromIterator<T> for SharedVec<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        Self::new(iter.into_iter().collect())
    }
}

impl<'a, T> IntoIterator for &'a SharedVec<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl<'a, T: Clone> IntoIterator for &'a mut SharedVec<T> {
    type Item = &'a mut T;
    type IntoIter = std::slice::IterMut<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        Arc::make_mut(&mut self.0).iter_mut()
    }
}

impl<T: Clone> IntoIterator for SharedVec<T> {
    type Item = T;
    type IntoIter = std::vec::IntoIter<T>;
    fn into_iter(self) -> Self::IntoIter {
        self.into_vec().into_iter()
    }
}

impl<T: Clone> Extend<T> for SharedVec<T> {
    fn extend<I: IntoIterator<Item = T>>(&mut self, iter: I) {
        Arc::make_mut(&mut self.0).extend(iter);
    }
}

impl<T: Serialize> Serialize for SharedVec<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.as_slice().serialize(s)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for SharedVec<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Vec::<T>::deserialize(d).map(Self::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_to_an_unshared_layer_does_not_copy() {
        let mut a: SharedVec<u32> = vec![1, 2].into();
        let p = a.as_ptr();
        a[0] = 9;
        assert_eq!(a.as_ptr(), p, "written in place");
        let b = a.clone();
        a[1] = 8;
        assert_ne!(a.as_ptr(), b.as_ptr(), "copied once shared");
        assert_eq!((a, b), (vec![9, 8].into(), vec![9, 2].into()));
    }

    #[test]
    fn serde_is_that_of_the_vector() {
        let a: SharedVec<u32> = vec![1, 2].into();
        assert_eq!(serde_json::to_string(&a).unwrap(), "[1,2]");
        let b: SharedVec<u32> = serde_json::from_str("[1,2]").unwrap();
        assert_eq!(a, b);
    }
}
