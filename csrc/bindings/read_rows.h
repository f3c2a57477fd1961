// Reading scattered rows of a file into one array: the training loop's memory-mapped data
// sources read a batch with it. One pread per run of consecutive rows with the GIL released,
// instead of a Python loop (4 us a row) or reads through the mapping (which would leave every
// touched page resident in the process); a batch of contiguous rows (shuffle="batch") is one
// read. Host I/O, so only the CPU module has it.
#pragma once
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

#include "errors.h"

namespace fastnn {

inline void bind_read_rows(py::module_& m) {
  m.def(
      "read_rows",
      [](int fd, int64_t offset, int64_t row_bytes, py::array_t<int64_t, py::array::c_style> rows,
         py::buffer out) {
        py::buffer_info o = out.request(true);
        if (o.readonly) throw ValueError("out: expected a writable array");
        if (row_bytes < 1 || offset < 0) throw ValueError("row_bytes, offset: expected row_bytes >= 1, offset >= 0");
        const int64_t n = rows.size();
        if (o.size * o.itemsize != n * row_bytes)
          throw ValueError("out: expected " + std::to_string(n * row_bytes) + " bytes for " + std::to_string(n) +
                           " rows, got " + std::to_string(o.size * o.itemsize));
        const int64_t* r = rows.data();
        for (int64_t i = 0; i < n; ++i)
          if (r[i] < 0 || r[i] > (INT64_MAX - offset) / row_bytes - 1)
            throw ValueError("rows: row " + std::to_string(r[i]) + " is out of range");
        char* dst = static_cast<char*>(o.ptr);
        std::string error;
        {
          py::gil_scoped_release nogil;
          for (int64_t i = 0, run = 1; i < n && error.empty(); i += run) {
            for (run = 1; i + run < n && r[i + run] == r[i] + run;) ++run;  // consecutive rows: one read
            const int64_t bytes = run * row_bytes, at = offset + r[i] * row_bytes;
            int64_t done = 0;
            while (done < bytes) {
              const ssize_t got = pread(fd, dst + i * row_bytes + done, size_t(bytes - done), off_t(at + done));
              if (got < 0 && errno == EINTR) continue;
              if (got <= 0) {
                error = got < 0 ? std::strerror(errno) : "the file ends before row " + std::to_string(r[i] + run - 1);
                break;
              }
              done += got;
            }
          }
        }
        if (!error.empty()) throw ValueError("fd: reading rows failed: " + error);
      },
      py::arg("fd"), py::arg("offset"), py::arg("row_bytes"), py::arg("rows"), py::arg("out"),
      "Read rows[i] (each row_bytes long, the first at byte offset) of the open file fd into out, in order.");
}

}  // namespace fastnn
