// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Devices.Serial;

/// <summary>Where a COM port's line goes, as QEMU's <c>-serial</c> options.</summary>
public enum SerialBackendKind
{
    /// <summary>The program's standard input and output.</summary>
    Stdio,

    /// <summary>Output appended to a file; no input.</summary>
    File,

    /// <summary>A new pseudo-terminal; its device name is printed for <c>screen</c> or <c>picocom</c>.</summary>
    Pty,

    /// <summary>A Unix-domain socket this program listens on (one client at a time).</summary>
    Unix,

    /// <summary>A TCP port on 127.0.0.1 this program listens on (one client at a time).</summary>
    Tcp,
}
