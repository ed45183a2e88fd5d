// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.
namespace HyperDbgRemote.Tests.Shared;

/// <summary>What a QEMU boot printed and when.</summary>
/// <param name="Console">The serial console up to and including the marker line (raw: CR, escape sequences).</param>
/// <param name="MarkerAt">Wall time from QEMU's start to the marker line, or null when it never came.</param>
/// <param name="Elapsed">Wall time until the capture ended.</param>
/// <param name="ExitCode">QEMU's exit code when it ended by itself (a reset with -no-reboot), else null.</param>
/// <param name="Errors">QEMU's standard error.</param>
internal sealed record QemuBootResult(string Console, TimeSpan? MarkerAt, TimeSpan Elapsed, int? ExitCode, string Errors);
