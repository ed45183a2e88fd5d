// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Runtime.InteropServices;
using HyperDbgRemote.VmxDriver.Internal.Engine;

namespace HyperDbgRemote.VmxDriver.Internal.Unicorn;

/// <content>
/// Instruction intercepts and the TSC offset, through the engine's AMD SVM state (<see cref="InterceptFields"/>): the
/// GUEST flag, the instruction mask and the CR/DR masks are written into the CPU state, and for MSRs a VMCB page (its
/// control area holds the map's address) and the MSR permission map sit in three pages of guest-physical memory of this
/// engine, mapped at its first run above every region of guest memory and 4 GiB (so not in the guest's memory map).
/// An intercepted instruction raises 0x100 + its SVM exit code through the interrupt hook, RIP at the instruction.
/// </content>
internal sealed unsafe partial class UnicornExecutionContext
{
    private const ulong PageSize = 4096;
    private const ulong InterceptPagesSize = 3 * PageSize;
    private const ulong MsrMapBaseInVmcb = 0x48;
    private const ulong LowestInterceptPages = 1UL << 32;

    private readonly InterceptFields _interceptFields;
    private byte* _interceptPages;
    private ulong _interceptPagesAddress;
    private bool _ran;
    private InstructionIntercepts _intercepts = InstructionIntercepts.None;
    private long _tscOffset;

    /// <inheritdoc/>
    public InstructionIntercepts Intercepts => _intercepts;

    /// <inheritdoc/>
    public long TscOffset
    {
        get => _tscOffset;
        set
        {
            _tscOffset = value;
            ApplyIntercepts();
        }
    }

    /// <inheritdoc/>
    public void SetIntercepts(InstructionIntercepts intercepts)
    {
        ArgumentNullException.ThrowIfNull(intercepts);
        _intercepts = intercepts;
        ApplyIntercepts();
    }

    /// <inheritdoc/>
    /// <remarks>The engine's RDTSC reads the host's counter (<see cref="HostTsc"/>) plus the offset.</remarks>
    public ulong ReadTimeStampCounter() => HostTsc.Read() + (ulong)_tscOffset;

    /// <summary>The guest-physical address of the intercept pages (0 before the first run).</summary>
    internal ulong InterceptPagesAddress => _interceptPagesAddress;

    /// <summary>At the first run: maps the intercept pages (every region of guest memory is mapped by then) and writes
    /// the intercept state set before.</summary>
    private void FirstRun()
    {
        _ran = true;
        ulong top = _mapped.Count == 0 ? 0 : _mapped.Max(m => m.Start + m.Size);
        _interceptPagesAddress = (Math.Max(top, LowestInterceptPages) + PageSize - 1) & ~(PageSize - 1);
        _interceptPages = (byte*)NativeMemory.AlignedAlloc((nuint)InterceptPagesSize, (nuint)PageSize);
        new Span<byte>(_interceptPages, (int)InterceptPagesSize).Clear();
        *(ulong*)(_interceptPages + MsrMapBaseInVmcb) = _interceptPagesAddress + PageSize;
        _engine.MapPointer(_interceptPagesAddress, InterceptPagesSize, UcConst.ProtRead, _interceptPages);
        ApplyIntercepts();
    }

    /// <summary>Writes the intercept state into the engine (after the first run has mapped the pages; before, the
    /// first run writes it).</summary>
    private void ApplyIntercepts(bool withoutMsrs = false)
    {
        if (!_ran)
        {
            return;
        }

        InstructionIntercepts set = withoutMsrs ? _intercepts with { Msrs = null } : _intercepts;
        ulong vmcb = 0;
        if (set.Msrs is MsrPermissionMap map)
        {
            map.Bytes.CopyTo(new Span<byte>(_interceptPages + PageSize, MsrPermissionMap.Size));
            vmcb = _interceptPagesAddress;
        }

        ulong instructions = (set.Msrs is null ? 0 : Bit(InterceptExit.MsrExit)) | (set.Rdtsc ? Bit(InterceptExit.RdtscExit) : 0) | (set.Rdpmc ? Bit(InterceptExit.RdpmcExit) : 0)
            | (set.Invlpg ? Bit(InterceptExit.InvlpgExit) : 0);
        var state = new EngineIntercepts(!set.IsEmpty, instructions, set.CrReads, set.CrWrites, set.DrReads, set.DrWrites, vmcb, (ulong)_tscOffset);
        lock (_apiGate)
        {
            _scratch.Save(_engine);
            _interceptFields.Write(_scratch.Bytes, state);
            _scratch.Restore(_engine);
        }

        static ulong Bit(int exitCode) => 1UL << (exitCode - 0x60);
    }

    /// <summary>
    /// Lifts the MSR intercepts while the API reads or writes an MSR they cover: the engine's API goes through the
    /// RDMSR/WRMSR helpers, whose intercept check would raise an exit (a jump out of the API call) instead of returning.
    /// </summary>
    private MsrInterceptSuspension SuspendMsrIntercept(uint msr, bool write)
    {
        if (!_ran || _intercepts.Msrs?.Intercepts(msr, write) != true)
        {
            return default;
        }

        ApplyIntercepts(withoutMsrs: true);
        return new MsrInterceptSuspension(this);
    }

    /// <summary>Puts the MSR intercepts back when disposed (<see cref="SuspendMsrIntercept"/>).</summary>
    private readonly struct MsrInterceptSuspension(UnicornExecutionContext? owner) : IDisposable
    {
        public void Dispose() => owner?.ApplyIntercepts();
    }

    /// <summary>An SVM exit from the interrupt hook: RIP is at the instruction. The registers are read in the API mode
    /// of the CPU's mode (an engine opened in 16-bit mode refuses RIP/RCX there: an exit in real or protected mode, e.g.
    /// SeaBIOS's RDTSC, reads IP/ECX).</summary>
    private void OnInterceptExit(int exitCode)
    {
        ulong rip = ReadRegister(GuestRegister.Rip);
        uint ecx = (uint)ReadRegister(GuestRegister.Rcx);
        _callbacks.OnIntercept(InterceptExit.FromExitCode(exitCode, rip, ecx));
    }

    private void FreeInterceptPages()
    {
        if (_interceptPages is not null)
        {
            NativeMemory.AlignedFree(_interceptPages);
            _interceptPages = null;
        }
    }
}
