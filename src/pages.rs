//! How the process's memory is paged: transparent huge pages on or off.

/// Whether Linux may back this process's memory with transparent huge pages (the allocator asks for them). The
/// binary turns them off first thing (`main.rs`); `preview` turns them on again for a large batch. Elsewhere, or
/// on a kernel without the setting, nothing changes.
pub fn huge_pages(on: bool) {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE sets one flag of this process and reads no memory of ours; a kernel that does
    // not know it refuses it.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, libc::c_ulong::from(!on), 0, 0, 0);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = on;
}
