// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Runtime.CompilerServices;
using HyperDbgRemote.VmxDriver.Devices;
using HyperDbgRemote.VmxDriver.Internal.Engine;

namespace HyperDbgRemote.VmxDriver.Internal.Execution;

/// <summary>
/// What one core does with an IN, OUT, INS or OUTS element under VMX (SDM Vol. 3C, "I/O-Instruction Execution" and
/// "Conditional VM exits for I/O instructions"): the I/O bitmaps decide; without an exit the access goes to the device
/// bus, with one the exit is handled in order: pre stage (may change registers and memory, may skip), emulation against
/// the device bus with the registers the pre stage left, post stage, then RIP advances past the instruction (the engine
/// continues after it). REP INS/OUTS exit once per iteration. Execution contexts call <see cref="Out"/> and
/// <see cref="In"/> for every I/O instruction.
/// </summary>
/// <remarks>
/// A sealed class, not an interface, and one object for the whole path: it runs on every IN and OUT, the engine's hook
/// entry points are compiled without profile-guided optimisation (an interface call there stays a dispatch stub), and
/// every extra object an exit touches is a cache line the engine has evicted since the last exit (measured with
/// <c>./build.sh bench vmx</c>: an interface, a forwarding object and two more objects on this path cost the exit path
/// 15–30%).
/// </remarks>
internal sealed class IoInstructions
{
    private readonly Vcpu _core;
    private readonly VirtualMachine _vm;
    private readonly VmcsIoControls _controls;
    private readonly IoPortDispatcher _ports;
    private readonly IoExit _exit;
    private IoSiteCache _sites;

    /// <summary>The site whose bytes <see cref="_exit"/> carries.</summary>
    private IoSite? _exitSite;

    public IoInstructions(Vcpu core)
    {
        _core = core;
        _vm = core.Machine;
        _controls = core.Controls;
        _ports = _vm.Ports;
        _exit = new IoExit(core);
        _sites = new IoSiteCache(core);
    }

    /// <summary>I/O exits taken so far.</summary>
    public long Count => Volatile.Read(ref _count);

    private long _count;

    /// <summary>RIP of the I/O instruction while its exit is being handled (the engine's RIP may be stale then).</summary>
    public ulong? ExitRip { get; private set; }

    /// <summary>Set by every register write through the core; an exit re-reads the registers it emulates with only
    /// when set.</summary>
    public bool RegistersWritten { get; set; }

    /// <summary>An OUT (or one OUTS element) writing <paramref name="value"/>; <paramref name="location"/> says where
    /// the instruction is, for an exit.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public void Out(ushort port, int size, uint value, IoLocation location)
    {
        _core.FireDueTimers(); // the device sees guest time with every timer event behind it taken (see In)
        if (_core.GuestBreakpoints.WatchesIo)
        {
            _core.GuestBreakpoints.OnIo(port, size);
        }

        if (!_controls.ShouldExit(port, size))
        {
            _ports.Write(port, size, value);
            return;
        }

        ExitOut(port, size, value, location);
    }

    /// <summary>
    /// An IN (or one INS element); returns the value read. Due timers fire first, as at RDTSC: guest time does not run
    /// past a timer event the running core has not taken (VirtualClock), so a guest polling a device with interrupts
    /// off (Linux's PIT calibration of the TSC reads port 42h or 61h in a loop) would otherwise see the PIT stand still
    /// until the core's next look at the clock, then jump.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public uint In(ushort port, int size, IoLocation location)
    {
        _core.FireDueTimers();
        if (_core.GuestBreakpoints.WatchesIo)
        {
            _core.GuestBreakpoints.OnIo(port, size);
        }

        return _controls.ShouldExit(port, size) ? ExitIn(port, size, location) : _ports.Read(port, size);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ExitOut(ushort port, int size, uint value, IoLocation location)
    {
        try
        {
            OutCore(port, size, value, location);
        }
        finally
        {
            ExitRip = null;
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private uint ExitIn(ushort port, int size, IoLocation location)
    {
        try
        {
            return InCore(port, size, location);
        }
        finally
        {
            ExitRip = null;
        }
    }

    private void OutCore(ushort port, int size, uint value, IoLocation location)
    {
        IoExit exit = Begin(port, size, isIn: false, location);
        long halts = _vm.HaltCount;
        exit.Value = value;
        RegistersWritten = false;
        long memoryWrites = _vm.Memory.WriteCount;
        Dispatch(exit);
        halts = PreStageHalts(halts);
        if (!exit.SkipInstruction)
        {
            // The pre stage may have changed AL/AX/EAX, RSI or the element at DS:[RSI]: emulate with what it left.
            uint v = value;
            if (exit.Qualification.IsString)
            {
                if (RegistersWritten || _vm.Memory.WriteCount != memoryWrites)
                {
                    v = ReadStringElement(exit, value);
                }
            }
            else if (RegistersWritten)
            {
                v = (uint)_core.ReadRegister(GuestRegister.Rax) & SizeMask(size);
            }

            exit.Value = v;
            _ports.Write(port, size, v);
        }

        if (exit.PostStageRequested)
        {
            exit.Stage = ExitStage.Post;
            Dispatch(exit);
        }

        if (_vm.HaltCount == halts && !exit.Qualification.IsString)
        {
            EndStepAfterHaltedExit(exit);
        }
    }

    private uint InCore(ushort port, int size, IoLocation location)
    {
        IoExit exit = Begin(port, size, isIn: true, location);
        long halts = _vm.HaltCount;
        Dispatch(exit);
        halts = PreStageHalts(halts);
        bool isString = exit.Qualification.IsString;
        uint mask = SizeMask(size);
        uint value;
        if (exit.SkipInstruction)
        {
            // Short-circuit: the destination keeps what the pre stage left there (the engine writes it back unchanged).
            value = isString ? ReadStringElement(exit, 0) : (uint)_core.ReadRegister(GuestRegister.Rax) & mask;
        }
        else
        {
            value = _ports.Read(port, size) & mask;
        }

        exit.Value = value;
        if (exit.PostStageRequested)
        {
            StoreInResult(exit, value);
            exit.Stage = ExitStage.Post;
            Dispatch(exit);
            value = isString ? ReadStringElement(exit, value) : (uint)_core.ReadRegister(GuestRegister.Rax) & mask;
        }

        if (_vm.HaltCount == halts && !isString && _core.Debug.TakeStepBegunInside())
        {
            // The step ends after the IN: the destination holds the value at the halt, as after the instruction.
            StoreInResult(exit, value);
            EndStep(exit);
            value = (uint)_core.ReadRegister(GuestRegister.Rax) & mask;
        }

        return value;
    }

    /// <summary>The VM's halt count after the pre stage when the pre stage halted it, else -1 (no count): the step that
    /// began at a pre-stage halt is this instruction, as long as the post stage did not halt again.</summary>
    private long PreStageHalts(long before)
    {
        long now = _vm.HaltCount;
        return now == before ? -1 : now;
    }

    /// <summary>After an exit that halted the VM: when a step began at that halt (its pre stage), the step was this
    /// instruction, and it ends here, inside the exit, with RIP after the instruction (string I/O is left to the next
    /// block, which each REP iteration starts, as RSI/RDI and RCX move only after the exit).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void EndStepAfterHaltedExit(IoExit exit)
    {
        if (_core.Debug.TakeStepBegunInside())
        {
            EndStep(exit);
        }
    }

    private void EndStep(IoExit exit)
    {
        ExitRip = exit.Rip + (ulong)exit.InstructionLength;
        _core.Debug.EndStepAfterInstruction(exit);
    }

    private void Dispatch(IoExit exit) => _vm.ExitHandler?.OnIoExit(exit);

    private IoExit Begin(ushort port, int size, bool isIn, IoLocation location)
    {
        _count++;
        _vm.CountExit(port);
        IoSite site = _sites.Resolve(location, isIn, size);
        IoExit exit = _exit;
        exit.Stage = ExitStage.Pre;
        exit.SkipInstruction = false;
        exit.PostStageRequested = false;
        exit.Value = 0;
        exit.Qualification = IoExitQualification.Create(size, isIn, site.IsString, site.IsRep, site.IsImmediate, port);
        exit.InstructionLength = site.Bytes.Length;
        if (!ReferenceEquals(site, _exitSite))
        {
            // A loop exits from the same instruction again and again: spare the reference store (a GC write barrier).
            exit.InstructionBytes = site.Bytes;
            _exitSite = site;
        }

        exit.CodeBitness = site.Bitness;
        exit.Rip = site.Linear - _core.SegmentBase(GuestRegister.Cs);
        ExitRip = exit.Rip;
        if (site.IsString)
        {
            ulong index = _core.ReadRegister(isIn ? GuestRegister.Rdi : GuestRegister.Rsi) & AddressMask(site.AddressSize);
            GuestRegister segment = isIn ? GuestRegister.Es : SegmentRegister(site.Segment);
            exit.GuestLinearAddress = _core.SegmentBase(segment) + index;
            uint addressSizeCode = site.AddressSize switch { 16 => 0u, 32 => 1u, _ => 2u };
            exit.InstructionInformation = (addressSizeCode << 7) | ((uint)site.Segment << 15);
        }
        else
        {
            exit.GuestLinearAddress = 0;
            exit.InstructionInformation = 0;
        }

        return exit;
    }

    private uint ReadStringElement(IoExit exit, uint fallback)
    {
        Span<byte> buf = stackalloc byte[4];
        buf.Clear();
        int size = exit.Qualification.Size;
        ulong linear = CurrentStringAddress(exit);
        return _core.ReadVirtual(linear, buf[..size]) == size ? BitConverter.ToUInt32(buf) : fallback;
    }

    private ulong CurrentStringAddress(IoExit exit)
    {
        int addressSize = (int)((exit.InstructionInformation >> 7) & 7) switch { 0 => 16, 1 => 32, _ => 64 };
        bool isIn = exit.Qualification.IsIn;
        ulong index = _core.ReadRegister(isIn ? GuestRegister.Rdi : GuestRegister.Rsi) & AddressMask(addressSize);
        GuestRegister segment = isIn ? GuestRegister.Es : SegmentRegister((int)((exit.InstructionInformation >> 15) & 7));
        return _core.SegmentBase(segment) + index;
    }

    private void StoreInResult(IoExit exit, uint value)
    {
        int size = exit.Qualification.Size;
        if (exit.Qualification.IsString)
        {
            Span<byte> buf = stackalloc byte[4];
            BitConverter.TryWriteBytes(buf, value);
            _core.WriteVirtual(CurrentStringAddress(exit), buf[..size]);
            return;
        }

        // SDM: IN AL/AX merges into RAX; a 32-bit IN zero-extends into RAX.
        ulong rax = _core.ReadRegister(GuestRegister.Rax);
        rax = size switch
        {
            1 => (rax & ~0xFFUL) | value,
            2 => (rax & ~0xFFFFUL) | value,
            _ => value,
        };
        _core.WriteRegister(GuestRegister.Rax, rax);
    }

    private static uint SizeMask(int size) => size switch { 1 => 0xFFu, 2 => 0xFFFFu, _ => 0xFFFF_FFFFu };

    private static ulong AddressMask(int addressSize) => addressSize switch { 16 => 0xFFFF, 32 => 0xFFFF_FFFF, _ => ulong.MaxValue };

    private static GuestRegister SegmentRegister(int vmxSegment) => vmxSegment switch
    {
        0 => GuestRegister.Es,
        1 => GuestRegister.Cs,
        2 => GuestRegister.Ss,
        4 => GuestRegister.Fs,
        5 => GuestRegister.Gs,
        _ => GuestRegister.Ds,
    };
}
