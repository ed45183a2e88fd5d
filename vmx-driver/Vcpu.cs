// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Runtime.InteropServices;
using HyperDbgRemote.VmxDriver.Internal.Execution;
using HyperDbgRemote.VmxDriver.Internal.Unicorn;

namespace HyperDbgRemote.VmxDriver;

/// <summary>
/// One virtual CPU: a CPU-engine instance on its own thread, its VMCS I/O controls and its registers. Registers may be
/// read and written from another thread while the VM is halted (every core then waits inside a hook).
/// </summary>
public sealed unsafe partial class Vcpu : IDisposable
{
    private readonly VirtualMachine _vm;
    private readonly UcEngine _engine;
    private readonly OldExceptionField _oldException;

    /// <summary>A context of <see cref="_engine"/> for patching state the API does not reach (its exception state, its
    /// translations of a physical page).</summary>
    private readonly UcContext _context;
    private readonly BlockSlot* _slot;
    private readonly CoreStart _start;
    private readonly IoExit _exit;
    private readonly Dictionary<ulong, IoSite[]> _sites = [];
    private GCHandle _self;
    private Thread? _thread;
    private bool _disposed;

    internal Vcpu(VirtualMachine vm, int index, CoreStart start)
    {
        _vm = vm;
        Index = index;
        _start = start;
        _exit = new IoExit(this);
        _oldException = OldExceptionField.Calibrated;
        _engine = UcEngine.Open(start.Mode == CoreStartMode.Long64 ? UcConst.Mode64 : UcConst.Mode16);
        _engine.StopAtNoAddress();
        _context = UcContext.Allocate(_engine);
        if (_oldException.IsNeeded)
        {
            if (_context.Size != _oldException.ContextSize)
            {
                int size = _context.Size;
                Dispose();
                throw new CpuEngineUnavailableException(
                    $"The CPU engine's saved contexts differ in size between modes ({size} bytes in core {index}'s engine, "
                    + $"{_oldException.ContextSize} in the calibration's 64-bit engine); its exception state cannot be reset.");
            }
        }

        _slot = (BlockSlot*)NativeMemory.AllocZeroed((nuint)sizeof(BlockSlot));
        _self = GCHandle.Alloc(this);
        _slot->Owner = GCHandle.ToIntPtr(_self);
        _slot->Quantum = int.MaxValue;
        InstallHooks();
    }

    /// <summary>The core's index (0 = bootstrap processor).</summary>
    public int Index { get; }

    /// <summary>The VM this core belongs to.</summary>
    public VirtualMachine Machine => _vm;

    /// <summary>The I/O part of this core's VMCS.</summary>
    public VmcsIoControls Controls { get; } = new();

    /// <summary>What the core is doing.</summary>
    public CoreState State { get; internal set; }

    /// <summary>Translation blocks entered so far: a progress counter that does not move while the core is halted.</summary>
    public ulong BlocksExecuted => Volatile.Read(ref _slot->Blocks);

    /// <summary>I/O exits taken by this core.</summary>
    public long ExitCount => Volatile.Read(ref _exitCount);

    private long _exitCount;

    /// <summary>True when the engine is a 64-bit one (long-mode guests).</summary>
    public bool Is64Bit => _engine.Mode == UcConst.Mode64;

    /// <summary>
    /// Reads a register (architectural width; 0 for registers the current engine mode lacks, e.g. R8 in a 16-bit guest).
    /// Never throws for a <see cref="GuestRegister"/> value. CR8 reads 0: the engine has no task-priority register (a
    /// guest's <c>mov cr8, rax</c> is lost and <c>mov rax, cr8</c> gives 0, measured on Unicorn 2.0.1 and 2.1.1), and 2.1
    /// refuses to read it through its API, so 0 is what the guest itself reads.
    /// </summary>
    public ulong ReadRegister(GuestRegister register)
    {
        if (register == GuestRegister.Efer)
        {
            return ReadMsr(MsrEfer);
        }

        if (register == GuestRegister.Rip && _exitRip is ulong rip)
        {
            // Inside an I/O exit the engine's RIP is stale (the start of the translation block); the exit knows the
            // exact one.
            return rip;
        }

        int id = UcId(register);
        return id < 0 ? 0 : _engine.ReadRegister(id);
    }

    /// <summary>RIP of the I/O instruction while its exit is being handled.</summary>
    private ulong? _exitRip;

    /// <summary>Writes a register.</summary>
    /// <exception cref="InvalidOperationException">The register does not exist in the current engine mode, or it is CR8
    /// and the value is not 0 (the engine has no task-priority register; see <see cref="ReadRegister"/>).</exception>
    public void WriteRegister(GuestRegister register, ulong value)
    {
        if (register == GuestRegister.Efer)
        {
            WriteMsr(MsrEfer, value);
            return;
        }

        if (register == GuestRegister.Cr8)
        {
            if (value != 0)
            {
                throw new InvalidOperationException(
                    $"CR8 cannot be written on core {Index}: the CPU engine has no task-priority register (the guest always reads 0 from CR8).");
            }

            return;
        }

        int id = UcId(register);
        if (id < 0)
        {
            throw new InvalidOperationException($"Register {register} does not exist on core {Index} (16/32-bit guest).");
        }

        if (!Is64Bit && register < GuestRegister.Rip && value > uint.MaxValue)
        {
            throw new InvalidOperationException($"Register {register} is 32 bits wide on core {Index} (16/32-bit guest).");
        }

        _engine.WriteRegister(id, value);
        _registersWritten = true;
    }

    /// <summary>Set by every register write; the exit path re-reads the registers it emulates with only when set.</summary>
    private bool _registersWritten;

    /// <summary>The code size of the current instruction: 16, 32 or 64.</summary>
    public int CodeBitness()
    {
        if (Is64Bit)
        {
            return 64;
        }

        if ((ReadRegister(GuestRegister.Cr0) & Cr0Pe) == 0)
        {
            return 16;
        }

        return TryReadDescriptor((ushort)ReadRegister(GuestRegister.Cs), out ulong descriptor) && (descriptor & DescriptorDefaultBig) != 0 ? 32 : 16;
    }

    /// <summary>The base of a segment register: selector × 16 in real mode, the descriptor base in protected mode,
    /// 0 (FS/GS: their base MSRs) in 64-bit mode.</summary>
    public ulong SegmentBase(GuestRegister segment)
    {
        if (Is64Bit)
        {
            return segment switch
            {
                GuestRegister.Fs => ReadRegister(GuestRegister.FsBase),
                GuestRegister.Gs => ReadRegister(GuestRegister.GsBase),
                _ => 0,
            };
        }

        ulong selector = ReadRegister(segment) & 0xFFFF;
        if ((ReadRegister(GuestRegister.Cr0) & Cr0Pe) == 0)
        {
            return selector << 4;
        }

        return TryReadDescriptor((ushort)selector, out ulong d) ? ((d >> 16) & 0xFF_FFFF) | (((d >> 56) & 0xFF) << 24) : 0;
    }

    /// <summary>The linear address of the current instruction (CS base + RIP).</summary>
    public ulong LinearInstructionPointer() => SegmentBase(GuestRegister.Cs) + ReadRegister(GuestRegister.Rip);

    /// <summary>Translates a guest-linear address through the core's segmentation-free paging state.</summary>
    public bool TryTranslate(ulong linear, out ulong physical) =>
        PageWalker.TryTranslate(
            _vm.Memory,
            ReadRegister(GuestRegister.Cr0),
            ReadRegister(GuestRegister.Cr3),
            ReadRegister(GuestRegister.Cr4),
            ReadRegister(GuestRegister.Efer),
            linear,
            out physical);

    /// <summary>Reads guest-linear (virtual) memory through this core's paging; returns the bytes read.</summary>
    public int ReadVirtual(ulong linear, Span<byte> destination)
    {
        int done = 0;
        while (done < destination.Length)
        {
            ulong a = linear + (ulong)done;
            if (!TryTranslate(a, out ulong pa))
            {
                break;
            }

            int chunk = (int)Math.Min((ulong)(destination.Length - done), GuestMemory.PageSize - (a & (GuestMemory.PageSize - 1)));
            int n = _vm.Memory.Read(pa, destination.Slice(done, chunk));
            done += n;
            if (n < chunk)
            {
                break;
            }
        }

        return done;
    }

    /// <summary>Writes guest-linear (virtual) memory through this core's paging; returns the bytes written.</summary>
    public int WriteVirtual(ulong linear, ReadOnlySpan<byte> source)
    {
        int done = 0;
        while (done < source.Length)
        {
            ulong a = linear + (ulong)done;
            if (!TryTranslate(a, out ulong pa))
            {
                break;
            }

            int chunk = (int)Math.Min((ulong)(source.Length - done), GuestMemory.PageSize - (a & (GuestMemory.PageSize - 1)));
            int n = _vm.WritePhysical(pa, source.Slice(done, chunk));
            done += n;
            if (n < chunk)
            {
                break;
            }
        }

        return done;
    }

    /// <summary>Writes guest-physical memory through this core's engine (invalidating its translated code there).</summary>
    internal void WriteThroughEngine(ulong physical, ReadOnlySpan<byte> bytes)
    {
        _engine.WriteMemory(physical, bytes);
        ulong first = physical & ~(GuestMemory.PageSize - 1);
        ulong end = (physical + (ulong)bytes.Length + GuestMemory.PageSize - 1) & ~(GuestMemory.PageSize - 1);
        _engine.RemovePhysicalTranslations(first, end, _context);
    }

    /// <summary>True on a core's own thread (exit handlers, devices).</summary>
    [ThreadStatic]
    private static bool s_onCoreThread;

    internal static bool OnCoreThread => s_onCoreThread;

    private bool TryReadDescriptor(ushort selector, out ulong descriptor)
    {
        descriptor = 0;
        if ((selector & ~7) == 0)
        {
            return false;
        }

        ulong gdtBase = ReadTableRegister(UcReg.Gdtr).Base;
        return _vm.Memory.TryRead(gdtBase + (ulong)(selector & ~7), out descriptor);
    }

    /// <summary>The base and limit of GDTR/IDTR.</summary>
    internal (ulong Base, uint Limit) ReadTableRegister(int id)
    {
        // uc_x86_mmr: u16 selector; u64 base; u32 limit; u32 flags (24 bytes with padding).
        byte* mmr = stackalloc byte[24];
        new Span<byte>(mmr, 24).Clear();
        UcEngine.Check(UcNative.uc_reg_read(_engine.Raw, id, mmr), "uc_reg_read(table register)");
        return (*(ulong*)(mmr + 8), *(uint*)(mmr + 16));
    }

    /// <summary>Writes GDTR/IDTR.</summary>
    internal void WriteTableRegister(int id, ulong tableBase, uint limit)
    {
        byte* mmr = stackalloc byte[24];
        new Span<byte>(mmr, 24).Clear();
        *(ulong*)(mmr + 8) = tableBase;
        *(uint*)(mmr + 16) = limit;
        UcEngine.Check(UcNative.uc_reg_write(_engine.Raw, id, mmr), "uc_reg_write(table register)");
    }

    private ulong ReadMsr(uint msr)
    {
        // uc_x86_msr: u32 rid; u64 value.
        byte* buf = stackalloc byte[16];
        new Span<byte>(buf, 16).Clear();
        *(uint*)buf = msr;
        UcEngine.Check(UcNative.uc_reg_read(_engine.Raw, UcReg.Msr, buf), "uc_reg_read(MSR)");
        return *(ulong*)(buf + 8);
    }

    private void WriteMsr(uint msr, ulong value)
    {
        byte* buf = stackalloc byte[16];
        new Span<byte>(buf, 16).Clear();
        *(uint*)buf = msr;
        *(ulong*)(buf + 8) = value;
        UcEngine.Check(UcNative.uc_reg_write(_engine.Raw, UcReg.Msr, buf), "uc_reg_write(MSR)");
    }

    private int UcId(GuestRegister register)
    {
        bool wide = Is64Bit;
        return register switch
        {
            GuestRegister.Rax => wide ? UcReg.Rax : UcReg.Eax,
            GuestRegister.Rcx => wide ? UcReg.Rcx : UcReg.Ecx,
            GuestRegister.Rdx => wide ? UcReg.Rdx : UcReg.Edx,
            GuestRegister.Rbx => wide ? UcReg.Rbx : UcReg.Ebx,
            GuestRegister.Rsp => wide ? UcReg.Rsp : UcReg.Esp,
            GuestRegister.Rbp => wide ? UcReg.Rbp : UcReg.Ebp,
            GuestRegister.Rsi => wide ? UcReg.Rsi : UcReg.Esi,
            GuestRegister.Rdi => wide ? UcReg.Rdi : UcReg.Edi,
            >= GuestRegister.R8 and <= GuestRegister.R15 => wide ? UcReg.R8 + (register - GuestRegister.R8) : -1,
            GuestRegister.Rip => wide ? UcReg.Rip : UcReg.Eip,
            GuestRegister.Rflags => wide ? UcReg.Rflags : UcReg.Eflags,
            GuestRegister.Cs => UcReg.Cs,
            GuestRegister.Ds => UcReg.Ds,
            GuestRegister.Es => UcReg.Es,
            GuestRegister.Fs => UcReg.Fs,
            GuestRegister.Gs => UcReg.Gs,
            GuestRegister.Ss => UcReg.Ss,
            GuestRegister.Cr0 => UcReg.Cr0,
            GuestRegister.Cr2 => UcReg.Cr2,
            GuestRegister.Cr3 => UcReg.Cr3,
            GuestRegister.Cr4 => UcReg.Cr4,
            GuestRegister.Dr0 => UcReg.Dr0,
            GuestRegister.Dr1 => UcReg.Dr1,
            GuestRegister.Dr2 => UcReg.Dr2,
            GuestRegister.Dr3 => UcReg.Dr3,
            GuestRegister.Dr6 => UcReg.Dr6,
            GuestRegister.Dr7 => UcReg.Dr7,
            GuestRegister.FsBase => wide ? UcReg.FsBase : -1,
            GuestRegister.GsBase => wide ? UcReg.GsBase : -1,
            _ => -1,
        };
    }

    private const ulong Cr0Pe = 1;
    private const ulong DescriptorDefaultBig = 1UL << 54;
    private const uint MsrEfer = 0xC000_0080;

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _context.Dispose();
        _engine.Dispose();
        NativeMemory.Free(_slot);
        if (_self.IsAllocated)
        {
            _self.Free();
        }
    }
}
