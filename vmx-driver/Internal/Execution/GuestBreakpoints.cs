// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver.Internal.Engine;

namespace HyperDbgRemote.VmxDriver.Internal.Execution;

/// <summary>
/// The guest's own hardware breakpoints (SDM Vol. 3B 18.2, 18.3), armed from its debug registers
/// (<see cref="GuestDebugRegisters"/>) on the machinery the debugger's breakpoints use, never shown as the
/// debugger's: execute breakpoints are instruction callbacks at DRn (<see cref="CoreDebug"/>), data breakpoints are
/// memory hooks on the physical page DRn maps to (as <c>!monitor</c>'s), translated again whenever the guest's paging
/// may have changed (<see cref="PagingChanged"/>: MOV to CR0, CR3 or CR4, INVLPG), I/O breakpoints (CR4.DE) are checked
/// by every IN and OUT. A data or I/O hit is a trap: it is remembered (<see cref="TakePendingTrap"/>) and delivered as
/// #DB before the next instruction, which is why every instruction is called back while one is armed. One per core, on
/// the core's thread.
/// </summary>
internal sealed class GuestBreakpoints
{
    private const ulong Cr4De = 1UL << 3;
    private const int TypeExecute = 0;
    private const int TypeWrite = 1;
    private const int TypeIo = 2;

    private static readonly InstructionIntercepts s_paging = new() { CrWrites = (1 << 0) | (1 << 3) | (1 << 4), Invlpg = true };

    private readonly Vcpu _core;
    private ulong[] _execute = [];
    private Data[] _data = [];
    private Io[] _io = [];
    private int _armedVersion = -1;
    private bool _armedDe;
    private bool _armedIoType;
    private uint _pendingTrap;
    private bool _dataEnabled;
    private int _pagingVersion;
    private int _armedPagingVersion;

    public GuestBreakpoints(Vcpu core) => _core = core;

    /// <summary>The linear addresses of the enabled execute breakpoints.</summary>
    public IReadOnlyCollection<ulong> ExecuteAddresses => _execute;

    /// <summary>The physical pages the enabled data breakpoints hook, with the accesses each needs.</summary>
    public IEnumerable<(ulong Start, ulong End, MemoryAccessKinds Access)> DataPages =>
        _data.Select(d => (d.Physical & ~(VirtualMachine.MonitorPageSize - 1), (d.Physical & ~(VirtualMachine.MonitorPageSize - 1)) + VirtualMachine.MonitorPageSize - 1,
            d.ReadsToo ? MemoryAccessKinds.Read | MemoryAccessKinds.Write : MemoryAccessKinds.Write));

    /// <summary>True while a data or I/O breakpoint is armed: its trap is delivered before the next instruction, so every
    /// instruction must be called back.</summary>
    public bool NeedsEveryInstruction => _data.Length > 0 || _io.Length > 0;

    /// <summary>True while an I/O breakpoint is armed (IN and OUT check it).</summary>
    public bool WatchesIo => _io.Length > 0;

    /// <summary>True when DR0–DR3 or DR7 changed since <see cref="Arm"/>, or CR4.DE while DR7 enables an I/O
    /// breakpoint (CR4 is read only then), or the paging while DR7 enables a data breakpoint.</summary>
    public bool Changed => _core.DebugRegisters.Version != _armedVersion || (_armedIoType && Debuggable() != _armedDe)
        || (_dataEnabled && _pagingVersion != _armedPagingVersion);

    /// <summary>What the core intercepts so that a data breakpoint follows the guest's paging: MOV to CR0, CR3 and CR4
    /// (LMSW, CLTS) and INVLPG while DR7 enables a data breakpoint (mapped or not), nothing otherwise.</summary>
    public InstructionIntercepts PagingIntercepts => _dataEnabled ? s_paging : InstructionIntercepts.None;

    /// <summary>
    /// The guest's linear-to-physical mapping may have changed (a write of CR0, CR3 or CR4, an INVLPG): while DR7 enables
    /// a data breakpoint its address is translated again at the next block boundary (a page that does not map now is not
    /// hooked until a later change maps it). Not followed: a page-table write with no INVLPG or CR3 load after it.
    /// </summary>
    public void PagingChanged()
    {
        if (_dataEnabled)
        {
            _pagingVersion++;
            _core.Context.RaiseAttention();
        }
    }

    /// <summary>Reads the debug registers again and translates the data breakpoints' addresses (at a block boundary,
    /// before the hooks are applied); true when the hooks to apply differ from the armed ones.</summary>
    public bool Arm()
    {
        GuestDebugRegisters dr = _core.DebugRegisters;
        _armedVersion = dr.Version;
        _armedPagingVersion = _pagingVersion;
        _armedIoType = false;
        _armedDe = Debuggable();
        bool dataEnabled = false;
        var execute = new List<ulong>();
        var data = new List<Data>();
        var io = new List<Io>();
        ulong dr7 = dr.Dr7;
        for (int i = 0; i < 4; i++)
        {
            if (((dr7 >> (i * 2)) & 3) == 0)
            {
                continue;
            }

            int type = (int)(dr7 >> (16 + (i * 4))) & 3;
            int length = ((int)(dr7 >> (18 + (i * 4))) & 3) switch { 0 => 1, 1 => 2, 2 => 8, _ => 4 };
            ulong address = dr.Address(i);
            switch (type)
            {
                case TypeExecute:
                    execute.Add(address);
                    break;
                case TypeIo:
                    _armedIoType = true;
                    if (_armedDe)
                    {
                        io.Add(new Io(i, address & ~(ulong)(length - 1) & 0xFFFF, length));
                    }

                    break;
                default:
                    // SDM Vol. 3B 18.2.5: the address is aligned down to the length. A page that does not map now
                    // cannot be hooked: the breakpoint does not hit until the paging changes (PagingChanged).
                    dataEnabled = true;
                    ulong linear = address & ~(ulong)(length - 1);
                    if (_core.TryTranslate(linear, out ulong physical))
                    {
                        data.Add(new Data(i, physical, length, type != TypeWrite));
                    }

                    break;
            }
        }

        bool changed = !execute.Distinct().SequenceEqual(_execute) || !data.SequenceEqual(_data) || !io.SequenceEqual(_io);
        _execute = [.. execute.Distinct()];
        _data = [.. data];
        _io = [.. io];
        if (dataEnabled != _dataEnabled)
        {
            _dataEnabled = dataEnabled;
            _core.Intercepts.Apply();
        }

        return changed;
    }

    /// <summary>The DR6 bits (B0–B3) of the enabled execute breakpoints at <paramref name="linear"/>; 0 for none.</summary>
    public uint ExecuteHits(ulong linear)
    {
        if (_execute.Length == 0)
        {
            return 0;
        }

        GuestDebugRegisters dr = _core.DebugRegisters;
        uint hits = 0;
        for (int i = 0; i < 4; i++)
        {
            if (((dr.Dr7 >> (i * 2)) & 3) != 0 && ((dr.Dr7 >> (16 + (i * 4))) & 3) == TypeExecute && dr.Address(i) == linear)
            {
                hits |= 1u << i;
            }
        }

        return hits;
    }

    /// <summary>A read or write the engine trapped on a hooked page: a hit is remembered for the next instruction.</summary>
    public void OnDataAccess(MemoryAccessKinds kind, ulong physical, int size)
    {
        foreach (Data d in _data)
        {
            if ((kind == MemoryAccessKinds.Write || d.ReadsToo) && physical < d.Physical + (ulong)d.Length && d.Physical < physical + (ulong)Math.Max(size, 1))
            {
                _pendingTrap |= 1u << d.Index;
            }
        }
    }

    /// <summary>An IN or OUT of <paramref name="size"/> bytes at <paramref name="port"/>: a hit is remembered for the
    /// next instruction.</summary>
    public void OnIo(ushort port, int size)
    {
        foreach (Io b in _io)
        {
            if (port < b.Port + (ulong)b.Length && b.Port < port + (ulong)size)
            {
                _pendingTrap |= 1u << b.Index;
            }
        }
    }

    /// <summary>The DR6 bits of the data and I/O hits since the last call (0 for none), forgotten.</summary>
    public uint TakePendingTrap()
    {
        uint bits = _pendingTrap;
        _pendingTrap = 0;
        return bits;
    }

    /// <summary>Forgets a pending trap (an instruction that faulted or was restarted did not complete).</summary>
    public void ClearPendingTrap() => _pendingTrap = 0;

    private bool Debuggable() => (_core.ReadRegister(GuestRegister.Cr4) & Cr4De) != 0;

    private readonly record struct Data(int Index, ulong Physical, int Length, bool ReadsToo);

    private readonly record struct Io(int Index, ulong Port, int Length);
}
