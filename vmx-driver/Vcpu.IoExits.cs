// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver.Internal.Execution;

namespace HyperDbgRemote.VmxDriver;

/// <content>
/// The I/O-exit path (SDM Vol. 3C: conditional VM exits for I/O instructions). Order: pre stage (may change registers
/// and memory, may skip), emulation against the device bus with the registers the pre stage left, post stage, then RIP
/// advances past the instruction (the engine continues after it). REP INS/OUTS exit once per iteration.
/// </content>
public sealed unsafe partial class Vcpu
{
    private const int MaxBlockBytes = 64 * 1024;

    /// <summary>The block of the last exit: loops exit from the same block again and again.</summary>
    private ulong _lastBlockStart = ulong.MaxValue;
    private IoSite[]? _lastSites;

    /// <summary>The site whose bytes <see cref="_exit"/> carries.</summary>
    private IoSite? _exitSite;

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private void ExitOut(ushort port, int size, uint value, uint index)
    {
        try
        {
            ExitOutCore(port, size, value, index);
        }
        finally
        {
            _exitRip = null;
        }
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private uint ExitIn(ushort port, int size, uint index)
    {
        try
        {
            return ExitInCore(port, size, index);
        }
        finally
        {
            _exitRip = null;
        }
    }

    private void ExitOutCore(ushort port, int size, uint value, uint index)
    {
        IoExit exit = BeginExit(port, size, isIn: false, index);
        exit.Value = value;
        _registersWritten = false;
        long memoryWrites = _vm.Memory.WriteCount;
        Dispatch(exit);
        if (!exit.SkipInstruction)
        {
            // The pre stage may have changed AL/AX/EAX, RSI or the element at DS:[RSI]: emulate with what it left.
            uint v = value;
            if (exit.Qualification.IsString)
            {
                if (_registersWritten || _vm.Memory.WriteCount != memoryWrites)
                {
                    v = ReadStringElement(exit, value);
                }
            }
            else if (_registersWritten)
            {
                v = (uint)ReadRegister(GuestRegister.Rax) & SizeMask(size);
            }

            exit.Value = v;
            _vm.Ports.Write(port, size, v);
        }

        if (exit.PostStageRequested)
        {
            exit.Stage = ExitStage.Post;
            Dispatch(exit);
        }
    }

    private uint ExitInCore(ushort port, int size, uint index)
    {
        IoExit exit = BeginExit(port, size, isIn: true, index);
        Dispatch(exit);
        bool isString = exit.Qualification.IsString;
        uint mask = SizeMask(size);
        uint value;
        if (exit.SkipInstruction)
        {
            // Short-circuit: the destination keeps what the pre stage left there (the engine writes it back unchanged).
            value = isString ? ReadStringElement(exit, 0) : (uint)ReadRegister(GuestRegister.Rax) & mask;
        }
        else
        {
            value = _vm.Ports.Read(port, size) & mask;
        }

        exit.Value = value;
        if (exit.PostStageRequested)
        {
            StoreInResult(exit, value);
            exit.Stage = ExitStage.Post;
            Dispatch(exit);
            value = isString ? ReadStringElement(exit, value) : (uint)ReadRegister(GuestRegister.Rax) & mask;
        }

        return value;
    }

    private void Dispatch(IoExit exit)
    {
        IVmExitHandler? handler = _vm.ExitHandler;
        if (handler is not null)
        {
            handler.OnIoExit(exit);
        }
    }

    private IoExit BeginExit(ushort port, int size, bool isIn, uint index)
    {
        _exitCount++;
        _vm.CountExit(port);
        IoSite site = ResolveSite(isIn, size, index);
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
        exit.Rip = site.Linear - SegmentBase(GuestRegister.Cs);
        _exitRip = exit.Rip;
        if (site.IsString)
        {
            ulong index64 = ReadRegister(isIn ? GuestRegister.Rdi : GuestRegister.Rsi) & AddressMask(site.AddressSize);
            GuestRegister segment = isIn ? GuestRegister.Es : SegmentRegister(site.Segment);
            exit.GuestLinearAddress = SegmentBase(segment) + index64;
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

    /// <summary>
    /// Finds the I/O instruction being executed: the <paramref name="index"/>-th I/O instruction of the current
    /// translation block, whose start and size the native block thunk recorded.
    /// </summary>
    private IoSite ResolveSite(bool isIn, int size, uint index)
    {
        // Fast path: a loop exits from the same block again and again.
        IoSite[]? sites = _lastSites;
        if (_slot->BlockStart == _lastBlockStart && sites is not null && Matches(sites, index, isIn, size) && StillThere(sites[index]))
        {
            return sites[index];
        }

        return ResolveSiteSlow(isIn, size, index);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private IoSite ResolveSiteSlow(bool isIn, int size, uint index)
    {
        ulong start = _slot->BlockStart;
        uint length = Math.Min(_slot->BlockSize, MaxBlockBytes);
        if (_sites.TryGetValue(start, out IoSite[]? sites) && Matches(sites, index, isIn, size) && StillThere(sites[index]))
        {
            _lastBlockStart = start;
            _lastSites = sites;
            return sites[index];
        }

        byte[] code = new byte[Math.Max(length, 16u)];
        int read = ReadVirtual(start, code);
        sites = IoSiteDecoder.DecodeBlock(code.AsSpan(0, read).ToArray(), start, CodeBitness());
        foreach (IoSite site in sites)
        {
            ulong physical = TryTranslate(site.Linear, out ulong pa) ? pa : ulong.MaxValue;
            site.SetHost((IntPtr)_vm.Memory.Pointer(physical, (ulong)site.Bytes.Length), (IntPtr)_vm.Memory.Pointer(physical, sizeof(ulong)));
        }

        _sites[start] = sites;
        _lastBlockStart = start;
        _lastSites = sites;
        if (Matches(sites, index, isIn, size))
        {
            return sites[index];
        }

        // The block did not match (self-modifying code or an engine block boundary we did not predict): take the
        // first I/O instruction of the right kind at or after the index.
        for (int i = (int)Math.Min(index, (uint)sites.Length); i < sites.Length; i++)
        {
            if (sites[i].IsIn == isIn && sites[i].Size == size)
            {
                return sites[i];
            }
        }

        throw new InvalidOperationException(
            $"core {Index}: cannot locate the {(isIn ? "IN" : "OUT")} instruction #{index} of size {size} in the block at 0x{start:X} ({length} bytes).");
    }

    private static bool Matches(IoSite[] sites, uint index, bool isIn, int size) =>
        index < sites.Length && sites[index].IsIn == isIn && sites[index].Size == size;

    /// <summary>
    /// Cheap validation of a cached site: its bytes are still in the guest RAM they were decoded from (no register
    /// reads, no page walk; the RAM's host mapping is fixed for the VM's life). Code rewritten in place fails this and
    /// is decoded again.
    /// </summary>
    private static bool StillThere(IoSite site) => site.StillThere();

    private uint ReadStringElement(IoExit exit, uint fallback)
    {
        Span<byte> buf = stackalloc byte[4];
        buf.Clear();
        int size = exit.Qualification.Size;
        ulong linear = CurrentStringAddress(exit);
        return ReadVirtual(linear, buf[..size]) == size ? BitConverter.ToUInt32(buf) : fallback;
    }

    private ulong CurrentStringAddress(IoExit exit)
    {
        int addressSize = (int)((exit.InstructionInformation >> 7) & 7) switch { 0 => 16, 1 => 32, _ => 64 };
        bool isIn = exit.Qualification.IsIn;
        ulong index = ReadRegister(isIn ? GuestRegister.Rdi : GuestRegister.Rsi) & AddressMask(addressSize);
        GuestRegister segment = isIn ? GuestRegister.Es : SegmentRegister((int)((exit.InstructionInformation >> 15) & 7));
        return SegmentBase(segment) + index;
    }

    private void StoreInResult(IoExit exit, uint value)
    {
        int size = exit.Qualification.Size;
        if (exit.Qualification.IsString)
        {
            Span<byte> buf = stackalloc byte[4];
            BitConverter.TryWriteBytes(buf, value);
            WriteVirtual(CurrentStringAddress(exit), buf[..size]);
            return;
        }

        // SDM: IN AL/AX merges into RAX; a 32-bit IN zero-extends into RAX.
        ulong rax = ReadRegister(GuestRegister.Rax);
        rax = size switch
        {
            1 => (rax & ~0xFFUL) | value,
            2 => (rax & ~0xFFFFUL) | value,
            _ => value,
        };
        WriteRegister(GuestRegister.Rax, rax);
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
