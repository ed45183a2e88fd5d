// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using HyperDbgRemote.VmxDriver.Internal.Unicorn;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace HyperDbgRemote.VmxDriver.Tests.Paging;

/// <summary>
/// A bare engine (64-bit for 4-level paging, 32-bit for PAE and 32-bit paging) that performs one guest access at a time
/// through page tables a test builds in <see cref="Memory"/>: the oracle the page walker is compared with. A read is
/// <c>mov rax, [rsi]</c>, a write <c>mov [rsi], rbx</c>, a fetch <c>jmp rsi</c> and the instruction there; user-mode
/// accesses run after an IRET to ring 3. Each access starts from the same saved CPU state with the engine's TLB
/// flushed, so the engine walks the tables every time. A fault reports the vector, CR2 and the engine's own error
/// code, read from its saved context at a field found by calibration (see <see cref="ErrorCodeOffset"/>).
/// </summary>
internal sealed unsafe class EnginePagingHarness : IDisposable
{
    public const ulong RamSize = 64UL << 20;

    /// <summary>Where linear 0–2 MiB (the harness's GDT, code and stack) is mapped, by a fixed user-accessible page.</summary>
    public const ulong FixedPhysical = 60UL << 20;

    /// <summary>Page tables are allocated from here to the end of RAM.</summary>
    public const ulong TablePool = 62UL << 20;

    public const ulong GdtLinear = 0x1000;
    public const ulong CodeLinear = 0x2000;
    public const ulong ScratchLinear = 0x3000;
    public const ulong StackTop = 0x4F00;

    public const ushort KernelCode = 0x08;
    public const ushort KernelData = 0x10;
    public const ushort UserCode = 0x18 | 3;
    public const ushort UserData = 0x20 | 3;

    private const int ReadOffset = 0x00;
    private const int WriteOffset = 0x10;
    private const int FetchOffset = 0x20;
    private const int IretOffset = 0x30;

    private static readonly Lazy<int> s_errorCodeOffset = new(CalibrateErrorCode, LazyThreadSafetyMode.ExecutionAndPublication);

    private readonly UcContext _initial;
    private readonly UcContext _scratch;
    private GCHandle _self;
    private ulong _nextTable = TablePool;
    private Fault? _fault;

    /// <summary>An engine of <paramref name="bitness"/> (64 or 32) with RAM, the fixed map of the first 2 MiB reachable
    /// through <paramref name="root"/> once the test fills it, and paging on as the registers say.</summary>
    public EnginePagingHarness(int bitness)
    {
        Bitness = bitness;
        Memory = new GuestMemory(RamSize);
        Engine = UcEngine.Open(bitness == 64 ? UcConst.Mode64 : UcConst.Mode32);
        Engine.StopAtNoAddress();
        Engine.MapPointer(0, RamSize, UcConst.ProtAll, (void*)Memory.Regions[0].Host);
        WriteGdt();
        WriteCode();
        _initial = UcContext.Allocate(Engine);
        _scratch = UcContext.Allocate(Engine);
        _self = GCHandle.Alloc(this);
        Engine.AddHook(UcConst.HookIntr, (delegate* unmanaged[Cdecl]<IntPtr, uint, IntPtr, void>)&OnInterrupt, (void*)GCHandle.ToIntPtr(_self));
    }

    /// <summary>The offset of the engine's error-code field in a saved context.</summary>
    public static int ErrorCodeOffset => s_errorCodeOffset.Value;

    public int Bitness { get; }

    public GuestMemory Memory { get; }

    public UcEngine Engine { get; }

    /// <summary>The paging registers the engine ended up with (a bit the engine does not implement stays clear).</summary>
    public PagingState State { get; private set; }

    /// <summary>A zeroed page from the table pool.</summary>
    public ulong AllocateTable()
    {
        ulong page = _nextTable;
        if (page >= RamSize)
        {
            throw new InvalidOperationException("the table pool is exhausted");
        }

        _nextTable += GuestMemory.PageSize;
        Memory.Write(page, new byte[GuestMemory.PageSize]);
        return page;
    }

    /// <summary>The table pool in use (for snapshots of the accessed and dirty flags).</summary>
    public (ulong Start, int Length) UsedTables => (TablePool, (int)(_nextTable - TablePool));

    /// <summary>Turns paging on with these control registers and saves the state every access starts from.</summary>
    public void Enable(ulong cr3, ulong cr4, bool writeProtect, bool noExecute)
    {
        Engine.WriteRegister(UcReg.Cr3, cr3);
        Engine.WriteRegister(UcReg.Cr4, cr4);
        if (noExecute)
        {
            WriteMsr(0xC000_0080, ReadMsr(0xC000_0080) | PagingState.EferNxe);
        }

        ulong cr0 = Engine.ReadRegister(UcReg.Cr0) | PagingState.Cr0Pg | 1;
        Engine.WriteRegister(UcReg.Cr0, writeProtect ? cr0 | PagingState.Cr0Wp : cr0 & ~PagingState.Cr0Wp);
        Engine.WriteRegister(Bitness == 64 ? UcReg.Rsp : UcReg.Esp, StackTop);
        State = new PagingState(Engine.ReadRegister(UcReg.Cr0), Engine.ReadRegister(UcReg.Cr3), Engine.ReadRegister(UcReg.Cr4), ReadMsr(0xC000_0080));
        _initial.Save(Engine);
    }

    /// <summary>Performs one access at <paramref name="linear"/> on the engine. A write stores <paramref name="marker"/>.</summary>
    public EngineOutcome Access(ulong linear, PageAccess access, bool user, ulong marker)
    {
        _initial.Restore(Engine);
        UcEngine.Check(UcNative.uc_ctl(Engine.Raw, UcConst.CtlTlbFlush), "uc_ctl(TLB_FLUSH)");
        _fault = null;
        bool wide = Bitness == 64;
        Engine.WriteRegister(wide ? UcReg.Rsi : UcReg.Esi, wide ? linear : (uint)linear);
        Engine.WriteRegister(wide ? UcReg.Rbx : UcReg.Ebx, wide ? marker : (uint)marker);
        Engine.WriteRegister(wide ? UcReg.Rax : UcReg.Eax, ScratchLinear);
        int offset = access switch { PageAccess.Read => ReadOffset, PageAccess.Write => WriteOffset, _ => FetchOffset };
        ulong start = CodeLinear + (ulong)offset;
        int count = access == PageAccess.Execute ? 2 : 1;
        if (user)
        {
            WriteIretFrame(CodeLinear + (ulong)offset);
            start = CodeLinear + IretOffset;
            count++;
        }

        int err = UcNative.uc_emu_start(Engine.Raw, start, 0, 0, (nuint)count);
        if (_fault is Fault f)
        {
            return new EngineOutcome(EngineOutcomeKind.Fault, f.Vector, f.Cr2, f.ErrorCode, 0);
        }

        if (err != UcConst.ErrOk)
        {
            return new EngineOutcome(EngineOutcomeKind.Error, err, 0, 0, 0);
        }

        ulong value = access switch
        {
            PageAccess.Read => Engine.ReadRegister(wide ? UcReg.Rax : UcReg.Eax),
            PageAccess.Execute => Engine.ReadRegister(wide ? UcReg.Rip : UcReg.Eip),
            _ => 0,
        };
        return new EngineOutcome(EngineOutcomeKind.Done, 0, 0, 0, value);
    }

    public void Dispose()
    {
        Engine.Dispose();
        _initial.Dispose();
        _scratch.Dispose();
        _self.Free();
        Memory.Dispose();
    }

    private void WriteIretFrame(ulong rip)
    {
        int slot = Bitness == 64 ? 8 : 4;
        ulong[] frame = [rip, UserCode, 0x2, StackTop, UserData];
        ulong sp = StackTop - (ulong)(frame.Length * slot);
        for (int i = 0; i < frame.Length; i++)
        {
            ulong at = FixedPhysical + sp + (ulong)(i * slot);
            if (slot == 8)
            {
                Memory.TryWrite(at, frame[i]);
            }
            else
            {
                Memory.TryWrite(at, (uint)frame[i]);
            }
        }

        Engine.WriteRegister(Bitness == 64 ? UcReg.Rsp : UcReg.Esp, sp);
    }

    private void WriteGdt()
    {
        // Null; ring-0 code and data; ring-3 code and data. 64-bit code has L set, 32-bit code D.
        ulong code = Bitness == 64 ? 0x00AF_9A00_0000_FFFFUL : 0x00CF_9A00_0000_FFFFUL;
        ulong data = 0x00CF_9200_0000_FFFFUL;
        ulong[] gdt = [0, code, data, code | (3UL << 45), data | (3UL << 45)];
        for (int i = 0; i < gdt.Length; i++)
        {
            // Physical GdtLinear too: a 32-bit engine loads the descriptors below before paging is on.
            Memory.TryWrite(FixedPhysical + GdtLinear + (ulong)(i * 8), gdt[i]);
            Memory.TryWrite(GdtLinear + (ulong)(i * 8), gdt[i]);
        }

        byte* mmr = stackalloc byte[24];
        new Span<byte>(mmr, 24).Clear();
        *(ulong*)(mmr + 8) = GdtLinear;
        *(uint*)(mmr + 16) = (uint)(gdt.Length * 8) - 1;
        UcEngine.Check(UcNative.uc_reg_write(Engine.Raw, UcReg.Gdtr, mmr), "uc_reg_write(GDTR)");
        if (Bitness == 32)
        {
            // A 32-bit engine loads descriptors for segment writes (a 64-bit one stores the selector only).
            Engine.WriteRegister(UcReg.Cs, KernelCode);
            foreach (int segment in (ReadOnlySpan<int>)[UcReg.Ss, UcReg.Ds, UcReg.Es])
            {
                Engine.WriteRegister(segment, KernelData);
            }
        }
        else
        {
            Engine.WriteRegister(UcReg.Cs, KernelCode);
            Engine.WriteRegister(UcReg.Ss, KernelData);
        }
    }

    private void WriteCode()
    {
        Place(ReadOffset, a =>
        {
            if (Bitness == 64)
            {
                a.mov(rax, __qword_ptr[rsi]);
            }
            else
            {
                a.mov(eax, __dword_ptr[esi]);
            }
        });
        Place(WriteOffset, a =>
        {
            if (Bitness == 64)
            {
                a.mov(__qword_ptr[rsi], rbx);
            }
            else
            {
                a.mov(__dword_ptr[esi], ebx);
            }
        });
        Place(FetchOffset, a =>
        {
            if (Bitness == 64)
            {
                a.jmp(rsi);
            }
            else
            {
                a.jmp(esi);
            }
        });
        Place(IretOffset, a =>
        {
            if (Bitness == 64)
            {
                a.iretq();
            }
            else
            {
                a.iretd();
            }
        });
    }

    private void Place(int offset, Action<Assembler> body)
    {
        var a = new Assembler(Bitness);
        body(a);
        using var stream = new MemoryStream();
        a.Assemble(new StreamCodeWriter(stream), CodeLinear + (ulong)offset);
        Memory.Write(FixedPhysical + CodeLinear + (ulong)offset, stream.ToArray());
    }

    private ulong ReadMsr(uint msr)
    {
        byte* buf = stackalloc byte[16];
        new Span<byte>(buf, 16).Clear();
        *(uint*)buf = msr;
        UcEngine.Check(UcNative.uc_reg_read(Engine.Raw, UcReg.Msr, buf), "uc_reg_read(MSR)");
        return *(ulong*)(buf + 8);
    }

    private void WriteMsr(uint msr, ulong value)
    {
        byte* buf = stackalloc byte[16];
        new Span<byte>(buf, 16).Clear();
        *(uint*)buf = msr;
        *(ulong*)(buf + 8) = value;
        UcEngine.Check(UcNative.uc_reg_write(Engine.Raw, UcReg.Msr, buf), "uc_reg_write(MSR)");
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnInterrupt(IntPtr uc, uint vector, IntPtr user)
    {
        var harness = (EnginePagingHarness)GCHandle.FromIntPtr(user).Target!;
        harness._scratch.Save(harness.Engine);
        int offset = s_errorCodeOffset.IsValueCreated ? s_errorCodeOffset.Value : -1;
        uint errorCode = offset >= 0 ? BinaryPrimitives.ReadUInt32LittleEndian(harness._scratch.Bytes[offset..]) : 0;
        harness._fault = new Fault((int)vector, harness.Engine.ReadRegister(UcReg.Cr2), errorCode, harness._scratch.Bytes.ToArray());
        _ = UcNative.uc_emu_stop(uc);
    }

    /// <summary>
    /// Finds the engine's error-code field: three faults whose error codes the SDM fixes (a supervisor write to a
    /// not-present page: 2; a user read of a supervisor page: 5; a user write to a read-only user page: 7), and the one
    /// 32-bit field of the saved context that holds each.
    /// </summary>
    private static int CalibrateErrorCode()
    {
        using var h = new EnginePagingHarness(64);
        ulong root = h.AllocateTable();
        h.MapFixed64(root);
        ulong pdpt = h.AllocateTable();
        ulong pd = h.AllocateTable();
        ulong pt = h.AllocateTable();
        h.Memory.TryWrite(root + 8, pdpt | 7);
        h.Memory.TryWrite(pdpt, pd | 7);
        h.Memory.TryWrite(pd, pt | 7);
        h.Memory.TryWrite(pt + 8, (4UL << 20) | 3); // page 1: supervisor, writable
        h.Memory.TryWrite(pt + 16, (5UL << 20) | 5); // page 2: user, read-only
        h.Enable(root, PagingState.Cr4Pae, writeProtect: true, noExecute: false);
        const ulong Base = 1UL << 39;
        (ulong Address, PageAccess Access, bool User, uint Expected)[] cases =
        [
            (Base, PageAccess.Write, false, 2),
            (Base + 0x1000, PageAccess.Read, true, 5),
            (Base + 0x2000, PageAccess.Write, true, 7),
        ];
        List<int>? candidates = null;
        foreach ((ulong address, PageAccess access, bool user, uint expected) in cases)
        {
            h.Access(address, access, user, 0);
            byte[] context = h._fault?.Context ?? throw new InvalidOperationException($"calibration: no fault for {access} at 0x{address:X}");
            var here = new List<int>();
            for (int i = 0; i + 4 <= context.Length; i += 4)
            {
                if (BinaryPrimitives.ReadUInt32LittleEndian(context.AsSpan(i)) == expected)
                {
                    here.Add(i);
                }
            }

            candidates = candidates is null ? here : [.. candidates.Intersect(here)];
        }

        return candidates is [int offset] ? offset : throw new InvalidOperationException($"calibration: error-code field candidates [{string.Join(", ", candidates ?? [])}]");
    }

    /// <summary>4-level paging: PML4[0] maps linear 0–2 MiB to <see cref="FixedPhysical"/> (user, writable).</summary>
    public void MapFixed64(ulong root)
    {
        ulong pdpt = AllocateTable();
        ulong pd = AllocateTable();
        Memory.TryWrite(root, pdpt | 7);
        Memory.TryWrite(pdpt, pd | 7);
        Memory.TryWrite(pd, FixedPhysical | 0x87);
    }

    private sealed record Fault(int Vector, ulong Cr2, uint ErrorCode, byte[] Context);
}
