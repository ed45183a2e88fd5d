// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using Microsoft.Win32.SafeHandles;

namespace HyperDbgRemote.VmxDriver.Internal.Unicorn;

/// <summary>
/// A saved CPU context (uc_context) of one engine: its header and a copy of the engine's CPU state, which the engine
/// restores with a plain copy. <see cref="Bytes"/> exposes the whole allocation, so a field the API does not offer (see
/// <see cref="OldExceptionField"/>) can be patched between <see cref="Save"/> and <see cref="Restore"/>.
/// </summary>
internal sealed unsafe class UcContext : SafeHandleZeroOrMinusOneIsInvalid
{
    public UcContext()
        : base(ownsHandle: true)
    {
    }

    /// <summary>Bytes in the allocation (uc_context_size).</summary>
    public int Size { get; private set; }

    /// <summary>The whole context, header included; valid until disposed.</summary>
    public Span<byte> Bytes => new((void*)handle, Size);

    /// <summary>Allocates a context for <paramref name="engine"/>.</summary>
    public static UcContext Allocate(UcEngine engine)
    {
        IntPtr raw;
        UcEngine.Check(UcNative.uc_context_alloc(engine.Raw, &raw), "uc_context_alloc");
        var context = new UcContext { Size = checked((int)UcNative.uc_context_size(engine.Raw)) };
        context.SetHandle(raw);
        return context;
    }

    /// <summary>Copies the engine's CPU state into this context.</summary>
    public void Save(UcEngine engine) => UcEngine.Check(UcNative.uc_context_save(engine.Raw, handle), "uc_context_save");

    /// <summary>Copies this context back into the engine's CPU state.</summary>
    public void Restore(UcEngine engine) => UcEngine.Check(UcNative.uc_context_restore(engine.Raw, handle), "uc_context_restore");

    protected override bool ReleaseHandle() => UcNative.uc_context_free(handle) == UcConst.ErrOk;
}
