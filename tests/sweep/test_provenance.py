"""What a run or a reproduction records about the CPU (`s2rbench.sweep.provenance.cpu_description`)."""

from __future__ import annotations

import platform

from s2rbench.sweep.provenance import cpu_description, device_name


def test_the_cpu_is_named_with_its_widest_simd_extension(tmp_path):
    info = tmp_path / "cpuinfo"
    flags = "fpu sse4_2 avx2 avx512f avx512bw"
    info.write_text(f"processor\t: 0\nmodel name\t: AMD  EPYC 9R14\nflags\t\t: {flags}\n\nprocessor\t: 1\n")
    assert cpu_description(str(info)) == "AMD EPYC 9R14, AVX-512"
    info.write_text("model name\t: Some CPU\nflags\t\t: fpu sse4_2 avx2\n")
    assert cpu_description(str(info)) == "Some CPU, AVX2"
    # No /proc/cpuinfo (macOS, Windows): what platform knows, never an error.
    assert cpu_description(str(tmp_path / "missing")) == (platform.processor() or platform.machine())


def test_the_cpu_device_name_holds_the_description():
    assert device_name("cpu") == f"cpu ({cpu_description()})"
