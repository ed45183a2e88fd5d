// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Runtime.InteropServices;

namespace HyperDbgRemote.VmxDriver.Internal.Unicorn;

/// <summary>
/// Per-core state shared with the native block thunk (<see cref="NativeBlockThunk"/>). The thunk writes the start and
/// size of every translation block the core enters and resets <see cref="IoIndex"/>; the I/O hooks count the I/O
/// instructions executed in the block, which gives the exact RIP of an I/O exit. Offsets are part of the thunk's code.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal struct BlockSlot
{
    /// <summary>Offset 0: linear address of the current translation block.</summary>
    public ulong BlockStart;

    /// <summary>Offset 8: size of the current translation block in bytes.</summary>
    public uint BlockSize;

    /// <summary>Offset 12: number of I/O instructions already executed in this block execution.</summary>
    public uint IoIndex;

    /// <summary>Offset 16: blocks left in this core's time slice; the thunk calls <see cref="SlowPath"/> when it reaches 0.</summary>
    public int Quantum;

    /// <summary>Offset 20: non-zero when the core must look at the VM's requests (pause, stop, register fix-ups).</summary>
    public int Attention;

    /// <summary>Offset 24: the managed slow path, called with the block hook's arguments.</summary>
    public IntPtr SlowPath;

    /// <summary>Offset 32: GCHandle of the owning execution context.</summary>
    public IntPtr Owner;

    /// <summary>Offset 40: translation blocks entered so far (a cheap progress counter).</summary>
    public ulong Blocks;
}
