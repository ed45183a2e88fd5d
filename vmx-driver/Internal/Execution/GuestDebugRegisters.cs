// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Internal.Execution;

/// <summary>
/// The guest's debug registers (DR0–DR3, DR6, DR7), kept by the model and never given to the engine: every MOV to or
/// from a debug register is intercepted (<see cref="CoreIntercepts.Platform"/>) and served from here, and the
/// debugger's register reads and writes come here too (<see cref="Vcpu.ReadRegister"/>).
/// </summary>
/// <remarks>
/// Why never the engine: Unicorn 2.1.1's MOV to DR7 (and to DR0–DR3 while enabled as an execute breakpoint) arms the
/// breakpoint with <c>cpu_breakpoint_insert</c>, whose <c>breakpoint_invalidate</c> calls <c>tb_flush</c> from inside the
/// helper; Unicorn's <c>tcg_region_assign</c> zeroes the code buffer there, and the helper returns into translated code
/// that is now zero bytes: the host process dies with SIGSEGV (measured: <c>GuestHardwareBreakpointTests</c>). Its
/// register API writes <c>env->dr[n]</c> without arming anything, which is all the engine ever gets: its DR7 stays at
/// its reset value, so its own breakpoint, watchpoint and I/O-breakpoint paths never run.
/// </remarks>
internal sealed class GuestDebugRegisters
{
    /// <summary>DR6 at reset (SDM Vol. 3A 18.2.3: bits 4–11 and 16–31 read 1; bit 12 reads 0).</summary>
    public const ulong Dr6Reset = 0xFFFF_0FF0;

    /// <summary>DR7 at reset (bit 10 reads 1).</summary>
    public const ulong Dr7Reset = 0x400;

    /// <summary>DR7.GD (bit 13, SDM Vol. 3B 18.2.4): the next MOV to or from a debug register raises #DB instead.</summary>
    public const ulong Dr7GeneralDetect = 1UL << 13;

    /// <summary>DR6.BD (bit 13, SDM Vol. 3B 18.2.3): the #DB is DR7.GD's, raised by a MOV DR.</summary>
    public const ulong Dr6DebugRegisterAccess = 1UL << 13;

    private readonly ulong[] _address = new ulong[4];

    /// <summary>DR6: the debug status.</summary>
    public ulong Dr6 { get; set; } = Dr6Reset;

    /// <summary>DR7: the debug control.</summary>
    public ulong Dr7 { get; private set; } = Dr7Reset;

    /// <summary>Bumped by every write that changes DR0–DR3 or DR7 other than its GD bit (what the breakpoints are armed
    /// from; re-arming drops translated code, so a write of the same value costs nothing).</summary>
    public int Version { get; private set; }

    /// <summary>True for DR0–DR3, DR6 and DR7.</summary>
    public static bool Holds(GuestRegister register) => register is >= GuestRegister.Dr0 and <= GuestRegister.Dr7;

    /// <summary>DR<paramref name="index"/> (0–3): a breakpoint's address.</summary>
    public ulong Address(int index) => _address[index];

    /// <summary>Reads one of the registers (<see cref="Holds"/>).</summary>
    public ulong Read(GuestRegister register) => register switch
    {
        >= GuestRegister.Dr0 and <= GuestRegister.Dr3 => _address[register - GuestRegister.Dr0],
        GuestRegister.Dr6 => Dr6,
        _ => Dr7,
    };

    /// <summary>Writes one of the registers (<see cref="Holds"/>); DR6 and DR7 keep their fixed bits (SDM Vol. 3A
    /// 18.2.3, 18.2.4: DR6 bits 4–11 and 16–31 read 1, DR7 bit 10 reads 1, bits 11, 12, 14 and 15 read 0, and the upper
    /// halves of both read 0; a MOV that sets them raises #GP, see <see cref="CoreIntercepts"/>).</summary>
    public void Write(GuestRegister register, ulong value)
    {
        switch (register)
        {
            case >= GuestRegister.Dr0 and <= GuestRegister.Dr3:
                if (_address[register - GuestRegister.Dr0] != value)
                {
                    _address[register - GuestRegister.Dr0] = value;
                    Version++;
                }

                break;
            case GuestRegister.Dr6:
                Dr6 = (value & 0xE00F) | Dr6Reset;
                break;
            default:
                ulong dr7 = (value & 0xFFFF_27FF) | Dr7Reset;
                if (((dr7 ^ Dr7) & ~Dr7GeneralDetect) != 0)
                {
                    Version++;
                }

                Dr7 = dr7;
                break;
        }
    }

    /// <summary>
    /// The general-detect condition (SDM Vol. 3B 18.2.4, 18.3.1.2): a MOV to or from a debug register while DR7.GD is
    /// set is a fault, before the MOV: sets DR6.BD and clears DR7.GD (the processor clears it on entry to the #DB
    /// handler, so the handler can use the debug registers). The caller delivers the #DB.
    /// </summary>
    public void TakeGeneralDetect()
    {
        Dr6 |= Dr6DebugRegisterAccess;
        Dr7 &= ~Dr7GeneralDetect;
    }

    /// <summary>Back to the reset values (INIT).</summary>
    public void Reset()
    {
        Array.Clear(_address);
        Dr6 = Dr6Reset;
        Dr7 = Dr7Reset;
        Version++;
    }
}
