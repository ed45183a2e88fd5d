// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Internal.Execution;

/// <summary>What <see cref="PageWalker.Translate"/> found: a physical address and the page's effective rights, a
/// page fault with its error code, or a non-canonical address (#GP).</summary>
internal readonly struct Translation
{
    private Translation(bool mapped, ulong physical, ulong pageSize, PageFaultErrorCode error, bool nonCanonical, bool writable, bool user, bool executable)
    {
        IsMapped = mapped;
        Physical = physical;
        PageSize = pageSize;
        ErrorCode = error;
        IsNonCanonical = nonCanonical;
        IsWritable = writable;
        IsUser = user;
        IsExecutable = executable;
    }

    public static Translation NonCanonical => new(false, 0, 0, PageFaultErrorCode.None, true, false, false, false);

    public bool IsMapped { get; }

    public ulong Physical { get; }

    public ulong PageSize { get; }

    /// <summary>The page fault's error code when not mapped (and canonical).</summary>
    public PageFaultErrorCode ErrorCode { get; }

    public bool IsNonCanonical { get; }

    public bool IsWritable { get; }

    public bool IsUser { get; }

    public bool IsExecutable { get; }

    public static Translation Mapped(ulong physical, ulong pageSize, bool writable, bool user, bool executable) =>
        new(true, physical, pageSize, PageFaultErrorCode.None, false, writable, user, executable);

    public static Translation Faulted(PageFaultErrorCode error) => new(false, 0, 0, error, false, false, false, false);
}
