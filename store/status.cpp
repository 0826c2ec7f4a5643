#include "store/status.hpp"

namespace starling::store {

namespace {

class store_category final : public std::error_category {
public:
  const char* name() const noexcept override { return "starling.store"; }

  std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
      case errc::ok:
        return "success";
      case errc::directory_not_writable:
        return "the data directory or a file in it is not writable; give the server's user "
               "write permission or set another [server] data_dir";
      case errc::read_only_filesystem:
        return "the data directory is on a read-only file system; remount it read-write or "
               "set another [server] data_dir";
      case errc::disk_full:
        return "no space left on the device of the data directory; free disk space and "
               "restart the server";
      case errc::map_full:
        return "the LMDB map reached its maximum size; raise [store] max_map_size_mib or "
               "remove data";
      case errc::corrupt:
        return "the data file is corrupt, not an LMDB file, or from an incompatible LMDB "
               "version; restore the data directory from a backup";
      case errc::lock_file:
        return "the LMDB lock file cannot be used; make lock.mdb writable, or delete it "
               "when no process has the store open";
      case errc::format_too_new:
        return "the store was written by a newer Starling format version; run that newer "
               "Starling or restore a backup";
      case errc::migration_failed:
        return "a store format migration failed and the store was left unchanged; fix the "
               "cause named in the detail and restart";
      case errc::already_exists:
        return "the key already exists";
      case errc::not_found:
        return "the key was not found";
      case errc::value_mismatch:
        return "the stored value differs from the expected value";
      case errc::unknown_table:
        return "the table is not declared in the store schema";
      case errc::invalid_argument:
        return "invalid argument";
      case errc::store_failed:
        return "an earlier commit failed, so the store rejects writes until it is reopened; "
               "check the log for the first error";
      case errc::io_error:
        return "an I/O error occurred on the data files; check the disk and the kernel log";
      case errc::readers_full:
        return "all LMDB reader slots are in use; end long read transactions";
      case errc::writer_stopped:
        return "the store writer stopped before it committed the write";
      case errc::crypto_error:
        return "OpenSSL failed to derive SCRAM keys; check the OpenSSL installation";
      case errc::quota_exceeded:
        return "a per-user quota is reached; the user must make room first";
      case errc::lmdb_error:
        return "LMDB returned an unexpected error";
    }
    return "unknown store error";
  }
};

} // namespace

const std::error_category& error_category() noexcept {
  static const store_category instance;
  return instance;
}

std::error_code make_error_code(errc code) noexcept {
  return {static_cast<int>(code), error_category()};
}

std::string status::message() const {
  std::string text = error_category().message(static_cast<int>(code_));
  if (!detail_.empty()) {
    text += " (";
    text += detail_;
    text += ')';
  }
  return text;
}

} // namespace starling::store
